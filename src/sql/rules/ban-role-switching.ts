import type { LintRule } from './types.js';
import { statementsWithin } from './routine-bodies.js';
import { collectFacts } from '../facts.js';
import { asNode, type JsonObject, type Node } from '../ast.js';

const ROLE_SETTINGS = new Set(['role', 'session_authorization']);

/** The value a SET/set_config gives, for the message. */
function argText(args: Node[] | undefined): string {
  const a = asNode(args?.[0], 'A_Const');
  return a?.sval ? String(a.sval.sval) : a ? 'a value' : 'a value';
}

function settingName(name: string): string {
  return name === 'role' ? 'SET ROLE' : 'SET SESSION AUTHORIZATION';
}

export const rule: LintRule = {
  id: 'ban-role-switching',
  severity: 'error',
  title: 'Role switching (SET ROLE, SET SESSION AUTHORIZATION, set_config(\'role\', …))',
  explanation:
    'A migration runs as the deploy role that the reviewers and the database’s own restrictions (lockdown, grants) were set up for. `SET ROLE` or `SET SESSION AUTHORIZATION` makes the statements after it run with another role’s privileges — often a more powerful one — and `ALTER ROLE … SET role` makes every later session do so. What runs as whom must be visible and deliberate: grant the deploy role what it needs, or suppress with a reason a reviewer checks (`migrate plan` lists it under "needs a careful reviewer").',
  examples: {
    bad: ['SET ROLE postgres;\nDROP POLICY p ON t;', 'SET SESSION AUTHORIZATION admin;', "SELECT set_config('role', 'admin', false);", 'DO $$ BEGIN SET LOCAL ROLE admin; END $$;', 'ALTER ROLE app SET role = admin;'],
    good: ['RESET ROLE;', 'SET ROLE NONE;', 'GRANT SELECT ON t TO reporting;'],
  },
  check: (s, ctx) => {
    const hits: string[] = [];
    for (const { stmt: e, where } of statementsWithin(s, ctx)) {
      const at = where ? ` in ${where}` : '';
      const { kind, node: n } = e;
      // SET ROLE NONE is RESET ROLE: back to the login role, not a switch.
      if (kind === 'VariableSetStmt' && ROLE_SETTINGS.has(String(n.name)) && n.kind === 'VAR_SET_VALUE' && argText(n.args).toLowerCase() !== 'none') {
        hits.push(`${settingName(String(n.name))} ${argText(n.args)}${at}: the statements after it run with that role’s privileges`);
      }
      if ((kind === 'AlterRoleSetStmt' || kind === 'AlterDatabaseSetStmt') && ROLE_SETTINGS.has(String(n.setstmt?.name))) {
        hits.push(`${kind === 'AlterRoleSetStmt' ? 'ALTER ROLE' : 'ALTER DATABASE'} … SET ${n.setstmt?.name}${at}: every later session switches role`);
      }
      for (const f of collectFacts(n).functions) {
        if (f.at(-1) !== 'set_config') continue;
        const call = findSetConfig(n);
        if (call && ROLE_SETTINGS.has(call)) hits.push(`set_config('${call}', …)${at} switches role`);
      }
    }
    return [...new Set(hits)];
  },
};

/** The first argument of a set_config(...) call in the tree, if it is a literal. */
export function findSetConfig(node: unknown): string | null {
  let found: string | null = null;
  const visit = (v: unknown): void => {
    if (found || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach(visit);
    const o = v as JsonObject;
    // Any object of the tree: a FuncCall key marks a wrapped FuncCall node.
    const call = asNode(v as Node, 'FuncCall');
    if (call && asNode((call.funcname ?? []).at(-1), 'String')?.sval === 'set_config') {
      const a = asNode(call.args?.[0], 'A_Const')?.sval?.sval;
      if (a) found = String(a).toLowerCase();
    }
    for (const k in o) visit(o[k]);
  };
  visit(node);
  return found;
}
