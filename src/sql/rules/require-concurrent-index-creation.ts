import { isExistingTable, relationName } from './helpers.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'require-concurrent-index-creation',
  severity: 'error',
  title: 'Creating an index without CONCURRENTLY',
  explanation:
    'CREATE INDEX without CONCURRENTLY holds a SHARE lock for the whole build: every INSERT, UPDATE and DELETE on the table waits. Use `CREATE INDEX CONCURRENTLY` (it cannot run inside a transaction, so put it in its own migration that runs outside one). Indexes on tables created in the same migration are fine.',
  examples: {
    bad: ['CREATE INDEX orders_user_idx ON orders (user_id);', 'CREATE UNIQUE INDEX users_email_idx ON users (email);'],
    good: ['CREATE TABLE orders (id bigint, user_id bigint);\nCREATE INDEX orders_user_idx ON orders (user_id);'],
  },
  check: (s, ctx) =>
    s.kind === 'IndexStmt' && !s.node.concurrent && isExistingTable(s.node.relation, ctx)
      ? `creating index ${s.node.idxname ?? ''}${s.node.idxname ? ' ' : ''}on ${relationName(s.node.relation)} without CONCURRENTLY blocks writes for the whole build`
      : undefined,
};
