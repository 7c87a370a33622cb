import { alterCmds } from './helpers.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'prefer-robust-stmts',
  severity: 'warning',
  title: 'Non-idempotent statement in a migration that runs outside a transaction',
  explanation:
    'A migration that runs outside a transaction (needed for CONCURRENTLY) can fail halfway; re-running it then fails on what already exists. Use `IF NOT EXISTS` / `IF EXISTS` so a retry completes. Inside a transaction a failure rolls everything back, so this rule is silent there; it is also silent for runners that never re-run a file (`lint --runner prisma|supabase`).',
  examples: {
    bad: ['-- prodguard: no-transaction\nCREATE INDEX CONCURRENTLY orders_user_idx ON orders (user_id);'],
    good: ['-- prodguard: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_user_idx ON orders (user_id);'],
  },
  check: (s, ctx) => {
    if (ctx.inTransaction) return undefined;
    // Only where a failed file is run again from the top (prodguard no-transaction files, Flyway
    // after repair, psql by hand); Prisma and Supabase never re-run a file.
    if (ctx.runner && !ctx.runner.rerunsFile) return undefined;
    if (s.kind === 'CreateStmt' && !s.node.if_not_exists) return 'CREATE TABLE without IF NOT EXISTS fails when the migration is retried';
    if (s.kind === 'IndexStmt' && !s.node.if_not_exists) return 'CREATE INDEX without IF NOT EXISTS fails when the migration is retried';
    if (s.kind === 'DropStmt' && !s.node.missing_ok) return 'DROP without IF EXISTS fails when the migration is retried';
    return alterCmds(s)
      .filter((c) => (c.subtype === 'AT_AddColumn' || c.subtype === 'AT_DropColumn') && !c.missing_ok)
      .map((c) => `${c.subtype === 'AT_AddColumn' ? 'ADD COLUMN without IF NOT EXISTS' : 'DROP COLUMN without IF EXISTS'} fails when the migration is retried`);
  },
};
