import type { LintRule } from './types.js';
import { stringParts } from '../facts.js';
import { asNode } from '../ast.js';

export const rule: LintRule = {
  id: 'security-definer-without-search-path',
  severity: 'warning',
  title: 'SECURITY DEFINER function without its own search_path',
  explanation:
    'A `SECURITY DEFINER` function runs with its owner’s privileges (in a migration: the deploy role, often the database owner) but resolves unqualified names through the *caller’s* `search_path`. Any role that can create an object in a schema on that path (a table, a function, an operator named like one the body uses) gets its own code run as the owner. PostgreSQL’s documentation says to pin it: `SET search_path = pg_catalog, pg_temp` (or `= \'\'` with schema-qualified names) on the function. Agents write `SECURITY DEFINER` to make a permission error go away.',
  examples: {
    bad: ["CREATE FUNCTION is_admin() RETURNS boolean LANGUAGE sql SECURITY DEFINER AS 'SELECT true';"],
    good: [
      "CREATE FUNCTION is_admin() RETURNS boolean LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS 'SELECT true';",
      "CREATE FUNCTION is_admin() RETURNS boolean LANGUAGE sql SET search_path = '' SECURITY DEFINER AS 'SELECT true';",
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';",
    ],
  },
  check: (s) => {
    if (s.kind !== 'CreateFunctionStmt') return [];
    const options = (s.node.options ?? []).map((o) => asNode(o, 'DefElem')).filter((d) => d !== undefined);
    const definer = options.some((d) => d.defname === 'security' && asNode(d.arg, 'Boolean')?.boolval);
    if (!definer) return [];
    const pinned = options.some((d) => d.defname === 'set' && asNode(d.arg, 'VariableSetStmt')?.name === 'search_path');
    if (pinned) return [];
    const what = `${s.node.is_procedure ? 'procedure' : 'function'} ${stringParts(s.node.funcname).join('.')}`;
    return [`SECURITY DEFINER ${what} has no SET search_path: it resolves names through the caller’s search_path with its owner’s privileges`];
  },
};
