import type { LintRule } from './types.js';
import { concurrentStatement } from './helpers.js';

export const rule: LintRule = {
  id: 'ban-concurrent-index-creation-in-transaction',
  severity: 'error',
  title: 'CONCURRENTLY inside a transaction',
  explanation:
    'CREATE INDEX CONCURRENTLY, DROP INDEX CONCURRENTLY and REINDEX CONCURRENTLY cannot run inside a transaction block; PostgreSQL refuses them and the migration fails halfway. Supabase migrations and prodguard deploys run each file in a transaction unless told otherwise, so put the concurrent statement in its own migration that runs outside a transaction (mark that file with a first-line comment `-- prodguard: no-transaction`).',
  examples: {
    bad: ['CREATE INDEX CONCURRENTLY orders_user_idx ON orders (user_id);', 'BEGIN;\nDROP INDEX CONCURRENTLY orders_user_idx;\nCOMMIT;'],
    good: ['-- prodguard: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_user_idx ON orders (user_id);'],
  },
  check: (s, ctx) => {
    if (!ctx.inTransaction) return undefined;
    const concurrent = concurrentStatement(s);
    return concurrent ? `${concurrent} CONCURRENTLY cannot run inside a transaction block` : undefined;
  },
};
