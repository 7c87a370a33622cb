import { columnConstraints, isExistingTable, tableKey } from './helpers.js';
import { asNode, nodesOf, type CreateStmt } from '../ast.js';
import type { LintRule, ParsedStatement, LintContext } from './types.js';

/**
 * A new table whose foreign key references an existing table takes SHARE ROW EXCLUSIVE on that
 * table (blocking its writes while it waits), although the new table itself is empty.
 */
function referencesExistingTable(node: CreateStmt, ctx: LintContext): boolean {
  const own = tableKey(node.relation);
  const elts = node.tableElts ?? [];
  const constraints = [
    ...nodesOf(elts, 'Constraint'),
    ...elts.flatMap((e) => columnConstraints(asNode(e, 'ColumnDef'))),
  ];
  return constraints.some((c) => c.contype === 'CONSTR_FOREIGN' && c.pktable && tableKey(c.pktable) !== own && isExistingTable(c.pktable, ctx));
}

/** Statements that take a strong lock on an existing object. */
function takesLock(s: ParsedStatement, ctx: LintContext): boolean {
  switch (s.kind) {
    case 'AlterTableStmt':
    case 'RenameStmt':
      return s.node.relation ? isExistingTable(s.node.relation, ctx) : true;
    case 'IndexStmt':
      return !s.node.concurrent && isExistingTable(s.node.relation, ctx);
    case 'CreateStmt':
      return referencesExistingTable(s.node, ctx);
    case 'DropStmt':
    case 'RefreshMatViewStmt':
      return !s.node.concurrent;
    // No CONCURRENTLY form: always a strong lock.
    case 'TruncateStmt':
    case 'CreateTrigStmt':
    case 'LockStmt':
    case 'ClusterStmt':
      return true;
    default:
      return false;
  }
}

export const rule: LintRule = {
  id: 'require-timeout-settings',
  severity: 'warning',
  title: 'Lock-taking statement without lock_timeout',
  explanation:
    'A statement waiting for a strong lock (ALTER TABLE, CREATE INDEX, DROP …) queues every later query on the table behind it: one long-running transaction turns a quick migration into an outage. Start the migration with `SET lock_timeout = \'2s\';` (and a statement_timeout) so it fails fast and can be retried. prodguard deploys set lock_timeout themselves; this warning is for migrations applied any other way.',
  examples: {
    bad: ['ALTER TABLE users ADD COLUMN nickname text;', 'CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));'],
    good: [
      'SET lock_timeout = \'2s\';\nALTER TABLE users ADD COLUMN nickname text;',
      'CREATE TABLE users (id bigint);',
      'CREATE TABLE users (id bigint PRIMARY KEY, parent_id bigint REFERENCES users (id));\nCREATE TABLE orders (id bigint, user_id bigint, FOREIGN KEY (user_id) REFERENCES users (id));',
    ],
  },
  check: (s, ctx) => {
    if (ctx.lockTimeoutSet || ctx.timeoutReported || !takesLock(s, ctx)) return undefined;
    ctx.timeoutReported = true;
    return 'this statement takes a strong lock but no lock_timeout was set before it in this migration';
  },
};
