import type { LintRule, ParsedStatement } from './types.js';
import { concurrentStatement } from './helpers.js';

/**
 * Statements PostgreSQL refuses inside a transaction block, or that commit on their own (explicit
 * transaction control, procedures and DO blocks that may COMMIT): the only reasons to run a file
 * outside a transaction.
 */
function needsNoTransaction(s: ParsedStatement): boolean {
  if (concurrentStatement(s)) return true;
  const n = s.node as Record<string, unknown>;
  switch (s.kind) {
    case 'VacuumStmt':
    case 'CreatedbStmt':
    case 'DropdbStmt':
    case 'AlterSystemStmt':
    case 'CreateTableSpaceStmt':
    case 'DropTableSpaceStmt':
    case 'ClusterStmt':
    case 'CreateSubscriptionStmt':
    case 'DropSubscriptionStmt':
    case 'AlterSubscriptionStmt':
    case 'TransactionStmt':
    case 'CallStmt':
    case 'DoStmt':
      return true;
    case 'AlterEnumStmt':
      // ADD VALUE: refused in a transaction before PostgreSQL 12, and the new value cannot be used
      // in the transaction that added it on any version.
      return !n.oldVal;
    default:
      return false;
  }
}

export const rule: LintRule = {
  id: 'no-transaction-without-need',
  severity: 'error',
  title: '`-- prodguard: no-transaction` on a file that does not need it',
  explanation:
    'The `-- prodguard: no-transaction` marker makes the runner apply the file statement by statement, without a transaction: if one statement fails, the ones before it stay applied and the database is left half-migrated. It exists only for statements PostgreSQL refuses inside a transaction (CREATE/DROP/REINDEX … CONCURRENTLY, VACUUM, ALTER TYPE … ADD VALUE before 12, CREATE DATABASE, …) or that manage transactions themselves. On any other file it only removes the safety net — and a reviewer may not notice a marker an agent or a teammate added (red team w5c-078). Remove the marker, or move the statement that needs it into a file of its own.',
  examples: {
    bad: ['-- prodguard: no-transaction\nUPDATE accounts SET balance = 0 WHERE id = 1;\nDELETE FROM ledger WHERE account_id = 1;', '-- prodguard: no-transaction\nALTER TABLE orders ADD COLUMN note text;'],
    good: ['-- prodguard: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_user_idx ON orders (user_id);', 'UPDATE accounts SET balance = 0 WHERE id = 1;'],
  },
  check: (s, ctx) => {
    // Once per file, at its first statement; only where the marker decides how the file runs.
    if (!ctx.noTransactionMarker || s !== ctx.all[0]) return undefined;
    if (ctx.runner && ctx.runner.runner !== 'prodguard') return undefined;
    if (ctx.all.some(needsNoTransaction)) return undefined;
    return 'the file is marked `-- prodguard: no-transaction` but none of its statements needs to run outside a transaction: a failure halfway would leave the statements before it applied (remove the marker)';
  },
};
