import { alterCmds, columnType } from './helpers.js';
import { asNode, nodesOf, type ColumnDef } from '../ast.js';
import type { LintRule, ParsedStatement } from './types.js';

const SMALL = new Set(['int4', 'int2', 'serial', 'serial4', 'smallserial', 'serial2']);

function keyColumns(s: ParsedStatement): ColumnDef[] {
  const defs: ColumnDef[] =
    s.kind === 'CreateStmt'
      ? nodesOf(s.node.tableElts, 'ColumnDef')
      : alterCmds(s).filter((c) => c.subtype === 'AT_AddColumn').map((c) => asNode(c.def, 'ColumnDef')).filter((d): d is ColumnDef => Boolean(d));
  // Only identifiers: primary keys, identity and serial columns — the ones that run out.
  return defs.filter((d) => {
    const t = columnType(d);
    const cons = (d.constraints ?? []).map((c) => asNode(c, 'Constraint')?.contype);
    return t.startsWith('serial') || t === 'smallserial' || cons.includes('CONSTR_PRIMARY') || cons.includes('CONSTR_IDENTITY');
  });
}

export const rule: LintRule = {
  id: 'prefer-bigint-over-int',
  severity: 'warning',
  title: 'int/serial identifier that can run out',
  explanation:
    'An `integer` (or `serial`) key tops out at 2,147,483,647; when a busy table reaches it, inserts fail and widening the column later means a full table rewrite under an ACCESS EXCLUSIVE lock. Use `bigint` (`bigserial`, or `bigint GENERATED ALWAYS AS IDENTITY`) for primary keys and identity columns from the start.',
  examples: {
    bad: ['CREATE TABLE events (id serial PRIMARY KEY);', 'CREATE TABLE events (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY);'],
    good: ['CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, attempts int);'],
  },
  check: (s) =>
    keyColumns(s)
      .filter((d) => SMALL.has(columnType(d)))
      .map((d) => ({ message: `identifier column ${d.colname} is ${columnType(d) === 'int4' ? 'integer' : columnType(d)}; use bigint before the table grows`, location: d.location as number })),
};
