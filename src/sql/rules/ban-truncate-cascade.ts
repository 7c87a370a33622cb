import { relationName } from './helpers.js';
import { asNode } from '../ast.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'ban-truncate-cascade',
  severity: 'error',
  title: 'TRUNCATE … CASCADE',
  explanation:
    'TRUNCATE … CASCADE also empties every table that references the named ones through a foreign key, recursively — tables the author may not even know about. Never cascade: list every table explicitly (and prefer DELETE … WHERE).',
  examples: { bad: ['TRUNCATE users CASCADE;'], good: ['DELETE FROM users WHERE id = 1;'] },
  check: (s) =>
    s.kind === 'TruncateStmt' && s.node.behavior === 'DROP_CASCADE'
      ? `TRUNCATE ${(s.node.relations ?? []).map((r) => relationName(asNode(r, 'RangeVar'))).join(', ')} CASCADE also empties every table that references them`
      : undefined,
};
