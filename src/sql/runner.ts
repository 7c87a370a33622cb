/**
 * Who runs a migration file decides whether its statements share a transaction and whether a
 * file that failed halfway is re-run. The linter asks this module instead of assuming one answer:
 *
 * | runner    | transaction                                                                 | re-runs a failed file |
 * |-----------|-----------------------------------------------------------------------------|-----------------------|
 * | prisma    | the file is sent as one multi-statement query: an implicit transaction when it has two or more statements, none for a lone statement | no (`migrate resolve` first; the implicit transaction rolled back) |
 * | supabase  | always: the CLI sends the file with its history insert as one batch          | no (rolled back)      |
 * | prodguard | one transaction per file, unless the file starts with `-- prodguard: no-transaction` | yes, a no-transaction file is applied again on the next deploy |
 * | flyway    | one per file, unless the file holds a statement PostgreSQL refuses in one (CONCURRENTLY, VACUUM, …): then none | yes, after `flyway repair` |
 * | none      | none (psql -f: every statement commits on its own)                           | yes, by hand          |
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ParsedStatement } from './parser.js';
import { asNode, type TaggedNode } from './ast.js';

export const MIGRATION_RUNNERS = ['prisma', 'supabase', 'prodguard', 'flyway', 'none'] as const;
export type MigrationRunner = (typeof MIGRATION_RUNNERS)[number];

export interface RunnerPlan {
  runner: MigrationRunner;
  /** The file's statements run inside one transaction (before any BEGIN/COMMIT of its own). */
  inTransaction: boolean;
  /** A file that failed halfway is run again from the top, so each statement must tolerate a re-run. */
  rerunsFile: boolean;
}

/** Statements PostgreSQL refuses inside a transaction block (PreventInTransactionBlock). */
export function isNonTransactional(s: TaggedNode): boolean {
  const { kind, node: n } = s;
  switch (kind) {
    case 'IndexStmt':
    case 'DropStmt':
      return Boolean(n.concurrent);
    case 'ReindexStmt':
      return (n.params ?? []).some((p) => asNode(p, 'DefElem')?.defname === 'concurrently') || n.kind === 'REINDEX_OBJECT_SYSTEM' || n.kind === 'REINDEX_OBJECT_DATABASE';
    case 'VacuumStmt':
      return Boolean(n.is_vacuumcmd);
    case 'CreatedbStmt':
    case 'DropdbStmt':
    case 'CreateTableSpaceStmt':
    case 'DropTableSpaceStmt':
    case 'AlterSystemStmt':
      return true;
    case 'CreateSubscriptionStmt':
    case 'DropSubscriptionStmt':
      return true;
    default:
      return false;
  }
}

/** How `runner` runs a file with these statements; `noTransactionMarker` is prodguard's opt-out comment. */
export function runnerPlan(runner: MigrationRunner, stmts: ParsedStatement[], noTransactionMarker: boolean): RunnerPlan {
  switch (runner) {
    case 'prisma':
      return { runner, inTransaction: stmts.length > 1, rerunsFile: false };
    case 'supabase':
      return { runner, inTransaction: true, rerunsFile: false };
    case 'flyway': {
      const inTransaction = !stmts.some(isNonTransactional);
      return { runner, inTransaction, rerunsFile: !inTransaction };
    }
    case 'none':
      return { runner, inTransaction: false, rerunsFile: true };
    case 'prodguard':
      return { runner, inTransaction: !noTransactionMarker, rerunsFile: noTransactionMarker };
  }
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/**
 * The runner a project uses, from its files: prodguard.yaml (prodguard applies the migrations),
 * then supabase/, prisma/, Flyway's configuration or V<version>__ files; undefined when nothing says.
 */
export function detectRunner(root: string): { runner: MigrationRunner; evidence: string } | undefined {
  if (existsSync(join(root, 'prodguard.yaml')) || existsSync(join(root, 'prodguard.yml'))) return { runner: 'prodguard', evidence: 'prodguard.yaml' };
  if (existsSync(join(root, 'supabase', 'config.toml')) || isDir(join(root, 'supabase', 'migrations'))) return { runner: 'supabase', evidence: 'supabase/' };
  if (existsSync(join(root, 'prisma', 'schema.prisma')) || isDir(join(root, 'prisma', 'migrations'))) return { runner: 'prisma', evidence: 'prisma/' };
  for (const f of ['flyway.conf', 'flyway.toml', join('conf', 'flyway.conf')]) if (existsSync(join(root, f))) return { runner: 'flyway', evidence: f };
  for (const d of [join('src', 'main', 'resources', 'db', 'migration'), join('db', 'migration'), 'sql']) {
    if (isDir(join(root, d)) && readdirSync(join(root, d)).some((f) => /^V\d+(?:[._]\d+)*__.+\.sql$/.test(f))) return { runner: 'flyway', evidence: `${d}/V…__*.sql` };
  }
  return undefined;
}

/** A runner named on the command line (the lean lint entry validates without commander), or undefined. */
export function parseRunner(value: string): MigrationRunner | undefined {
  return (MIGRATION_RUNNERS as readonly string[]).includes(value) ? (value as MigrationRunner) : undefined;
}
