/**
 * Applying migrations. Each file runs in its own transaction with SET LOCAL lock_timeout and
 * statement_timeout from the config, and its history row is inserted in that same transaction:
 * a failure rolls the file back and leaves the history unchanged.
 *
 * Statements that PostgreSQL refuses inside a transaction (CREATE INDEX CONCURRENTLY, ALTER TYPE …
 * ADD VALUE on old servers, VACUUM, …) need the file to say so explicitly with a first-lines
 * comment `-- prodguard: no-transaction` (the same marker the linter reads). Such a file runs
 * statement by statement outside a transaction with session-level timeouts, and its history row
 * is written in a transaction of its own after the last statement succeeded. Without the marker
 * PostgreSQL's own error stops the file and nothing of it remains.
 */
import type pg from 'pg';
import { connect } from '../pg/client.js';
import { durationMs } from '../config/schema.js';
import type { LoadedConfig } from '../config/load.js';
import { ProdguardError } from '../errors.js';
import type { MigrationFile } from './files.js';
import { ensureHistory, recordApplied, splitStatements, type HistoryTarget } from './history.js';
import { assertSessionConnection } from '../supabase/connection.js';

export interface ApplyOptions {
  actor: string;
  changeHash: string;
  history: HistoryTarget;
  onMigration?: (m: MigrationFile, phase: 'start' | 'done') => void;
}

export interface AppliedResult {
  file: string;
  version: string;
  durationMs: number;
  transactional: boolean;
}

export class MigrationFailedError extends ProdguardError {
  readonly file: string;
  readonly applied: string[];
  readonly pgMessage: string;
  constructor(file: string, applied: string[], pgMessage: string, transactional: boolean) {
    super(
      `migration ${file} failed: ${pgMessage}; ` +
        (transactional ? 'its transaction was rolled back and its history row not written' : 'it ran outside a transaction (no-transaction marker): statements before the failing one stayed applied and its history row was not written') +
        (applied.length ? ` (already applied in this run: ${applied.join(', ')})` : ''),
      { code: 'migrate.failed' },
    );
    this.file = file;
    this.applied = applied;
    this.pgMessage = pgMessage;
  }
}

function timeouts(loaded: LoadedConfig): { lock: string; statement: string } {
  const m = loaded.config.migrations;
  return { lock: `${durationMs(m.lockTimeout)}ms`, statement: `${durationMs(m.statementTimeout)}ms` };
}

export async function applyMigrations(loaded: LoadedConfig, url: string, files: MigrationFile[], opts: ApplyOptions): Promise<AppliedResult[]> {
  assertSessionConnection(url, 'migrations'); // Supabase hook (src/supabase): no transaction-mode pooler
  const t = timeouts(loaded);
  const c = await connect(url, { applicationName: 'prodguard migrate' });
  const done: AppliedResult[] = [];
  try {
    await ensureHistory(c, opts.history);
    for (const m of files) {
      opts.onMigration?.(m, 'start');
      const started = Date.now();
      try {
        if (m.noTransaction) await applyOutsideTransaction(c, m, t, opts);
        else await applyInTransaction(c, m, t, opts);
      } catch (err) {
        if (err instanceof MigrationFailedError) throw err;
        throw new MigrationFailedError(m.file, done.map((d) => d.file), (err as Error).message, !m.noTransaction);
      }
      done.push({ file: m.file, version: m.version, durationMs: Date.now() - started, transactional: !m.noTransaction });
      opts.onMigration?.(m, 'done');
    }
  } finally {
    await c.end().catch(() => {});
  }
  return done;
}

async function applyInTransaction(c: pg.Client, m: MigrationFile, t: { lock: string; statement: string }, opts: ApplyOptions): Promise<void> {
  await c.query('BEGIN');
  try {
    await c.query(`SET LOCAL lock_timeout = '${t.lock}'`);
    await c.query(`SET LOCAL statement_timeout = '${t.statement}'`);
    await c.query(m.sql);
    await recordApplied(c, opts.history, m, { actor: opts.actor, changeHash: opts.changeHash });
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

async function applyOutsideTransaction(c: pg.Client, m: MigrationFile, t: { lock: string; statement: string }, opts: ApplyOptions): Promise<void> {
  await c.query(`SET lock_timeout = '${t.lock}'`);
  await c.query(`SET statement_timeout = '${t.statement}'`);
  try {
    for (const stmt of await splitStatements(m.sql)) await c.query(stmt);
  } finally {
    await c.query('RESET lock_timeout').catch(() => {});
    await c.query('RESET statement_timeout').catch(() => {});
  }
  await c.query('BEGIN');
  try {
    await recordApplied(c, opts.history, m, { actor: opts.actor, changeHash: opts.changeHash });
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
