import { objectNamesOf } from './helpers.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'ban-drop-table',
  severity: 'error',
  title: 'Dropping a table',
  explanation:
    'DROP TABLE deletes the table and all its rows, and every deployed application version that still reads it starts failing. Stop using the table in the application first, deploy, keep a backup, and drop it in a later migration with an explicit `-- prodguard-ignore ban-drop-table: <why>` once nothing references it (or rename it aside and drop it after a grace period).',
  examples: { bad: ['DROP TABLE orders;', 'DROP TABLE IF EXISTS public.orders, items CASCADE;'], good: ['DROP INDEX CONCURRENTLY IF EXISTS orders_idx;', 'CREATE TABLE orders (id bigint);'] },
  check: (s) => (s.kind === 'DropStmt' && s.node.removeType === 'OBJECT_TABLE' ? `DROP TABLE ${objectNamesOf(s.node).join(', ')} deletes the table and every row in it` : undefined),
};
