import { relationName } from './helpers.js';
import { asNode } from '../ast.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'ban-truncate',
  severity: 'error',
  title: 'TRUNCATE in a migration',
  explanation:
    'TRUNCATE deletes every row instantly and takes an ACCESS EXCLUSIVE lock; in production it is data loss, not a schema change. If a table really has to be emptied, do it deliberately with a backup and say why in a suppression; to remove selected data, use DELETE … WHERE in batches.',
  examples: { bad: ['TRUNCATE orders;', 'TRUNCATE TABLE orders, items RESTART IDENTITY;'], good: ['DELETE FROM orders WHERE created_at < now() - interval \'1 year\';'] },
  check: (s) =>
    s.kind === 'TruncateStmt' && s.node.behavior !== 'DROP_CASCADE'
      ? `TRUNCATE deletes every row of ${(s.node.relations ?? []).map((r) => relationName(asNode(r, 'RangeVar'))).join(', ')}`
      : undefined,
};
