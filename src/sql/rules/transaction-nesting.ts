import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'transaction-nesting',
  severity: 'warning',
  title: 'BEGIN/COMMIT inside a migration that already runs in a transaction',
  explanation:
    'prodguard (and Supabase-style runners) wrap each migration file in a transaction. A BEGIN inside it only warns, but a COMMIT or ROLLBACK ends the outer transaction early: the statements after it run outside the all-or-nothing deploy, and a later failure leaves the database half-migrated. Remove the transaction control from the file, or mark the file `-- prodguard: no-transaction` if it really manages its own transactions.',
  examples: {
    bad: ['BEGIN;\nCREATE TABLE t (id bigint);\nCOMMIT;', 'CREATE TABLE t (id bigint);\nCOMMIT;'],
    good: ['CREATE TABLE t (id bigint);', '-- prodguard: no-transaction\nBEGIN;\nCREATE TABLE t (id bigint);\nCOMMIT;'],
  },
  check: (s, ctx) => {
    if (s.kind !== 'TransactionStmt' || !ctx.memo.get('assumedTransaction')) return undefined;
    const k = String(s.node.kind);
    // Prisma's wrap is the implicit transaction of one multi-statement query: an explicit BEGIN
    // takes it over silently, and a COMMIT only matters when statements follow it.
    if (ctx.runner?.runner === 'prisma') {
      if (k !== 'TRANS_STMT_COMMIT' && k !== 'TRANS_STMT_ROLLBACK') return undefined;
      if (!ctx.all.slice(ctx.all.indexOf(s) + 1).some((x) => x.kind !== 'TransactionStmt')) return undefined;
    }
    if (k === 'TRANS_STMT_BEGIN' || k === 'TRANS_STMT_START') return 'BEGIN inside a migration that already runs in a transaction has no effect (PostgreSQL only warns)';
    if (k === 'TRANS_STMT_COMMIT' || k === 'TRANS_STMT_ROLLBACK') return `${k === 'TRANS_STMT_COMMIT' ? 'COMMIT' : 'ROLLBACK'} ends the migration’s transaction early; what follows is no longer all-or-nothing`;
    return undefined;
  },
};
