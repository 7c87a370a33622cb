import { objectNamesOf } from './helpers.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'require-concurrent-index-deletion',
  severity: 'error',
  title: 'Dropping an index without CONCURRENTLY',
  explanation:
    'DROP INDEX takes an ACCESS EXCLUSIVE lock on the table, and while it waits for that lock every new query on the table queues behind it. Use `DROP INDEX CONCURRENTLY` (outside a transaction, in its own migration).',
  examples: { bad: ['DROP INDEX orders_user_idx;'], good: ['DROP INDEX CONCURRENTLY IF EXISTS orders_user_idx;'] },
  check: (s) =>
    s.kind === 'DropStmt' && s.node.removeType === 'OBJECT_INDEX' && !s.node.concurrent
      ? `dropping index ${objectNamesOf(s.node).join(', ')} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on its table`
      : undefined,
};
