import type { LintRule, ParsedStatement } from './types.js';

const TRANSACTION_WORD: Record<string, string> = {
  TRANS_STMT_BEGIN: 'BEGIN',
  TRANS_STMT_START: 'START TRANSACTION',
  TRANS_STMT_COMMIT: 'COMMIT',
  TRANS_STMT_ROLLBACK: 'ROLLBACK',
  TRANS_STMT_SAVEPOINT: 'SAVEPOINT',
  TRANS_STMT_RELEASE: 'RELEASE SAVEPOINT',
  TRANS_STMT_ROLLBACK_TO: 'ROLLBACK TO SAVEPOINT',
  TRANS_STMT_PREPARE: 'PREPARE TRANSACTION',
  TRANS_STMT_COMMIT_PREPARED: 'COMMIT PREPARED',
  TRANS_STMT_ROLLBACK_PREPARED: 'ROLLBACK PREPARED',
};

const NO_TRANSACTION_MIGRATION = /^\s*--\s*prodguard:\s*no-transaction\b/m;

/** The name of a transaction-control statement ('COMMIT', … ; END is COMMIT, ABORT is ROLLBACK), or null. */
export function transactionControl(s: ParsedStatement): string | null {
  if (s.kind !== 'TransactionStmt') return null;
  return TRANSACTION_WORD[String(s.node.kind)] ?? 'transaction control';
}

export const rule: LintRule = {
  id: 'transaction-nesting',
  severity: 'error',
  title: 'Transaction control (BEGIN/COMMIT/ROLLBACK/SAVEPOINT…) inside a migration',
  explanation:
    'Transaction control is the runner’s alone. prodguard (like Supabase-style runners) runs each migration file in one transaction together with its history row. A COMMIT (or END) inside the file ends that transaction early: what follows runs outside the all-or-nothing deploy and without the timeouts, and a later failure leaves production half-migrated with no history row. A ROLLBACK (or ABORT, or ROLLBACK TO SAVEPOINT) silently discards the work before it while the history says "applied". PREPARE TRANSACTION leaves a prepared transaction holding locks. prodguard refuses such a file before anything runs, and also in a `-- prodguard: no-transaction` file (which the runner applies one statement at a time). Remove the transaction control; put statements that cannot run in a transaction into their own file marked `-- prodguard: no-transaction`.',
  examples: {
    bad: [
      'BEGIN;\nCREATE TABLE t (id bigint);\nCOMMIT;',
      'CREATE TABLE t (id bigint);\nCOMMIT;',
      'INSERT INTO t VALUES (1);\nROLLBACK;',
      'SAVEPOINT s;\nDELETE FROM t;\nROLLBACK TO SAVEPOINT s;',
      "CREATE TABLE t (id bigint);\nPREPARE TRANSACTION 'x';",
      '-- prodguard: no-transaction\nBEGIN;\nCREATE TABLE t (id bigint);\nCOMMIT;',
    ],
    good: ['CREATE TABLE t (id bigint);', '-- prodguard: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_id_idx ON t (id);'],
  },
  check: (s, ctx) => {
    const word = transactionControl(s);
    if (!word) return undefined;
    if (!ctx.memo.get('assumedTransaction')) {
      // Outside a transaction, a plain SQL script (psql -f) may manage its own transactions; a
      // prodguard migration marked no-transaction may not: the runner applies it statement by statement.
      if (!NO_TRANSACTION_MIGRATION.test(ctx.all[0]?.leading ?? '')) return undefined;
      return `${word} in a no-transaction migration: the runner applies it one statement at a time and owns the transactions; split it into transactional files instead`;
    }
    // Prisma's wrap is the implicit transaction of one multi-statement query: an explicit BEGIN
    // takes it over silently, and a COMMIT only matters when statements follow it.
    if (ctx.runner?.runner === 'prisma') {
      if (word !== 'COMMIT' && word !== 'ROLLBACK') return undefined;
      if (!ctx.all.slice(ctx.all.indexOf(s) + 1).some((x) => x.kind !== 'TransactionStmt')) return undefined;
    }
    switch (word) {
      case 'BEGIN':
      case 'START TRANSACTION':
        return `${word} inside a migration that already runs in a transaction: transaction control is the runner’s alone`;
      case 'COMMIT':
        return 'COMMIT ends the migration’s transaction early; what follows is no longer all-or-nothing and the history row is no longer in the same transaction';
      case 'ROLLBACK':
      case 'ROLLBACK TO SAVEPOINT':
        return `${word} silently discards work of the migration while its history says "applied"`;
      default:
        return `${word} inside a migration: transaction control is the runner’s alone`;
    }
  },
};
