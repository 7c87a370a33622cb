import type { LintRule } from './types.js';
import { statementsWithin } from './routine-bodies.js';
import { alterCmds } from './helpers.js';
import { findSetConfig } from './ban-role-switching.js';
import { asNode, type Node } from '../ast.js';

/** Settings whose non-default values switch a safety off, with the value that is safe. */
const UNSAFE: Record<string, { safe: string; why: string }> = {
  session_replication_role: { safe: 'origin', why: 'foreign keys and triggers stop firing: rows that violate constraints get in' },
  row_security: { safe: 'on', why: 'row-level security policies stop applying (or queries fail instead of filtering)' },
};

function value(args: Node[] | undefined): string {
  const a = asNode(args?.[0], 'A_Const');
  if (!a) return '?';
  return String(a.sval?.sval ?? a.boolval?.boolval ?? (a.ival ? a.ival.ival : '')).toLowerCase();
}

export const rule: LintRule = {
  id: 'ban-safety-disabling-setting',
  severity: 'error',
  title: 'Settings that switch safety off (session_replication_role, row_security, DISABLE TRIGGER ALL)',
  explanation:
    '`SET session_replication_role = replica` turns off foreign-key checks and triggers; `SET row_security = off` turns off row-level security; `ALTER TABLE … DISABLE TRIGGER ALL` disables the internal triggers that enforce foreign keys. Rows that violate constraints get in, and nothing says so until a later backup fails verification or a join returns orphans. prodguard runs every migration file on a fresh session so such a setting cannot leak into the next file, but inside the file it still applies. Load data with constraints on (or NOT VALID + VALIDATE), or suppress with a reason a reviewer checks.',
  examples: {
    bad: [
      'SET session_replication_role = replica;\nINSERT INTO child VALUES (1, 999);',
      'SET LOCAL row_security = off;',
      "SELECT set_config('session_replication_role', 'replica', true);",
      'ALTER TABLE orders DISABLE TRIGGER ALL;',
      'ALTER DATABASE app SET session_replication_role = replica;',
    ],
    good: ['SET session_replication_role = origin;', 'SET row_security = on;', 'ALTER TABLE orders DISABLE TRIGGER orders_audit;'],
  },
  check: (s, ctx) => {
    const hits: string[] = [];
    for (const { stmt: e, where } of statementsWithin(s, ctx)) {
      const at = where ? ` in ${where}` : '';
      const { kind, node: n } = e;
      const set = kind === 'VariableSetStmt' ? n : kind === 'AlterRoleSetStmt' || kind === 'AlterDatabaseSetStmt' ? n.setstmt : null;
      const name = String(set?.name ?? '');
      if (set && set.kind === 'VAR_SET_VALUE' && UNSAFE[name] && value(set.args) !== UNSAFE[name].safe && !(name === 'row_security' && ['true', 'yes', '1'].includes(value(set.args)))) {
        hits.push(`${kind === 'VariableSetStmt' ? 'SET' : kind === 'AlterRoleSetStmt' ? 'ALTER ROLE … SET' : 'ALTER DATABASE … SET'} ${name} = ${value(set.args)}${at}: ${UNSAFE[name].why}`);
      }
      const call = findSetConfig(n);
      if (call && UNSAFE[call]) hits.push(`set_config('${call}', …)${at}: ${UNSAFE[call].why}`);
      if (kind === 'AlterTableStmt') {
        for (const c of alterCmds(e)) {
          if (c.subtype === 'AT_DisableTrigAll') hits.push(`DISABLE TRIGGER ALL${at}: foreign keys of the table stop being enforced`);
        }
      }
    }
    return hits;
  },
};
