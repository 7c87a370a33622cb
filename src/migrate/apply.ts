/**
 * Applying migrations. Before anything runs, every file is parsed and refused if it contains
 * transaction control (runnable.ts): the runner owns the transactions.
 *
 * Each file gets a fresh connection, so nothing a file sets for its session (SET
 * session_replication_role, SET ROLE, search_path, …) can carry into the next file.
 *
 * A transactional file runs in one transaction, statement by statement, with lock_timeout and
 * statement_timeout from the config set (SET LOCAL) before every statement — a file cannot switch
 * them off for the statements after its own SET — and its history row is inserted in that same
 * transaction: a failure rolls the file back and leaves the history unchanged.
 *
 * Statements that PostgreSQL refuses inside a transaction (CREATE INDEX CONCURRENTLY, VACUUM, …)
 * need the file to say so with a first-lines comment `-- prodguard: no-transaction` (the marker
 * the linter reads). Such a file runs one statement at a time outside a transaction, the timeouts
 * set before each statement, and its history row is written in a transaction of its own after
 * the last statement succeeded. If a statement fails, the error gives an exact account: which
 * statements stayed applied, which one failed, which were not run.
 */
import type pg from 'pg';
import { connect, quoteLiteral } from '../pg/client.js';
import { durationMs } from '../config/schema.js';
import type { LoadedConfig } from '../config/load.js';
import { ProdguardError, errorMessage } from '../errors.js';
import type { MigrationFile } from './files.js';
import { ensureHistory, recordApplied, type HistoryTarget } from './history.js';
import { prepareMigrations, type RunnableMigration } from './runnable.js';
import { withClient } from '../pg/client.js';
import { assertSessionConnection } from '../supabase/connection.js';

export interface ApplyOptions {
  actor: string;
  changeHash: string;
  history: HistoryTarget;
  onMigration?: (m: MigrationFile, phase: 'start' | 'done') => void;
  /**
   * A lockdown token (src/lockdown) SET as prodguard.token, session level, on every migration
   * connection before the file's statements, so a locked-down production accepts the deploy's DDL.
   */
  lockdownToken?: string;
}

export interface AppliedResult {
  file: string;
  version: string;
  durationMs: number;
  transactional: boolean;
}

/** Where a no-transaction file stopped: which statements stayed applied, which failed, which never ran. */
export interface StatementAccount {
  total: number;
  applied: Array<{ index: number; line: number; text: string }>;
  failed: { index: number; line: number } | null;
  notRun: Array<{ index: number; line: number }>;
}

export class MigrationFailedError extends ProdguardError {
  readonly file: string;
  readonly applied: string[];
  readonly pgMessage: string;
  readonly account: StatementAccount | null;
  constructor(file: string, applied: string[], pgMessage: string, transactional: boolean, account: StatementAccount | null = null, at: { index: number; total: number; line: number } | null = null) {
    const where = at ? `; the failing statement: ${at.index} of ${at.total}, line ${at.line}` : '';
    const what = transactional
      ? 'its transaction was rolled back and its history row not written'
      : `it ran outside a transaction (no-transaction marker): ${describeAccount(account)}; its history row was not written`;
    super(`migration ${file} failed: ${pgMessage}; ${what}${where}` + (applied.length ? ` (already applied in this run: ${applied.join(', ')})` : ''), {
      code: 'migrate.failed',
    });
    this.file = file;
    this.applied = applied;
    this.pgMessage = pgMessage;
    this.account = account;
  }
}

function firstLine(text: string): string {
  const line = text.split('\n')[0].trim();
  return line.length > 80 ? line.slice(0, 77) + '…' : line;
}

function describeAccount(a: StatementAccount | null): string {
  if (!a) return 'no statement of it ran';
  const applied = a.applied.length ? `applied and kept: ${a.applied.map((s) => `statement ${s.index} (line ${s.line}: ${firstLine(s.text)})`).join(', ')}` : 'no statement of it stayed applied';
  const notRun = a.notRun.length ? `; not run: ${a.notRun.map((s) => `statement ${s.index} (line ${s.line})`).join(', ')}` : '';
  return applied + notRun;
}

interface Timeouts {
  lock: string;
  statement: string;
}

function timeouts(loaded: LoadedConfig): Timeouts {
  const m = loaded.config.migrations;
  return { lock: `${durationMs(m.lockTimeout)}ms`, statement: `${durationMs(m.statementTimeout)}ms` };
}

/** Both timeouts in one round trip; LOCAL inside the file's transaction, session-level outside one. */
function setTimeoutsSql(t: Timeouts, local: boolean): string {
  const scope = local ? 'SET LOCAL' : 'SET';
  return `${scope} lock_timeout = ${quoteLiteral(t.lock)}; ${scope} statement_timeout = ${quoteLiteral(t.statement)}`;
}

export async function applyMigrations(loaded: LoadedConfig, url: string, files: MigrationFile[], opts: ApplyOptions): Promise<AppliedResult[]> {
  assertSessionConnection(url, 'migrations'); // Supabase hook (src/supabase): no transaction-mode pooler
  const t = timeouts(loaded);
  const runnable = await prepareMigrations(files);
  const done: AppliedResult[] = [];
  if (runnable.length === 0) return done;
  await withClient(url, (c) => ensureHistory(c, opts.history));
  for (const r of runnable) {
    const m = r.file;
    opts.onMigration?.(m, 'start');
    const started = Date.now();
    let c: pg.Client;
    try {
      // A fresh session per file: no SET of an earlier file is in force here.
      c = await connect(url, { applicationName: `prodguard migrate ${m.version}` });
      if (opts.lockdownToken) {
        try {
          await c.query(`SET prodguard.token = ${quoteLiteral(opts.lockdownToken)}`);
        } catch (err) {
          await c.end().catch(() => {});
          throw err;
        }
      }
    } catch (err) {
      throw new MigrationFailedError(m.file, done.map((d) => d.file), errorMessage(err), !m.noTransaction);
    }
    try {
      if (m.noTransaction) await applyOutsideTransaction(c, r, t, opts, done.map((d) => d.file));
      else await applyInTransaction(c, r, t, opts, done.map((d) => d.file));
    } finally {
      await c.end().catch(() => {});
    }
    done.push({ file: m.file, version: m.version, durationMs: Date.now() - started, transactional: !m.noTransaction });
    opts.onMigration?.(m, 'done');
  }
  return done;
}

async function applyInTransaction(c: pg.Client, r: RunnableMigration, t: Timeouts, opts: ApplyOptions, earlier: string[]): Promise<void> {
  let current: { index: number; total: number; line: number } | null = null;
  try {
    await c.query('BEGIN');
    for (const [i, s] of r.statements.entries()) {
      current = { index: i + 1, total: r.statements.length, line: s.line };
      // One round trip: inside the open transaction the SETs and the statement share it. The
      // statement goes last and on its own line, so a trailing `--` comment in it ends harmlessly.
      await c.query(`${setTimeoutsSql(t, true)};\n${s.text}`);
    }
    current = null;
    await recordApplied(c, opts.history, r.file, { actor: opts.actor, changeHash: opts.changeHash });
    // PostgreSQL answers COMMIT of an aborted transaction with ROLLBACK and no error: check which.
    const end = await c.query('COMMIT');
    if (end.command !== 'COMMIT') throw new Error(`the transaction ended with ${end.command} instead of COMMIT`);
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw new MigrationFailedError(r.file.file, earlier, errorMessage(err), true, null, current);
  }
}

async function applyOutsideTransaction(c: pg.Client, r: RunnableMigration, t: Timeouts, opts: ApplyOptions, earlier: string[]): Promise<void> {
  const account: StatementAccount = { total: r.statements.length, applied: [], failed: null, notRun: [] };
  for (const [i, s] of r.statements.entries()) {
    try {
      // Set before every statement: a SET statement_timeout = 0 in the file lasts one statement.
      await c.query(setTimeoutsSql(t, false));
      await c.query(s.text);
    } catch (err) {
      account.failed = { index: i + 1, line: s.line };
      account.notRun = r.statements.slice(i + 1).map((n, k) => ({ index: i + 2 + k, line: n.line }));
      throw new MigrationFailedError(r.file.file, earlier, errorMessage(err), false, account, { index: i + 1, total: account.total, line: s.line });
    }
    account.applied.push({ index: i + 1, line: s.line, text: s.text });
  }
  try {
    await c.query('BEGIN');
    await recordApplied(c, opts.history, r.file, { actor: opts.actor, changeHash: opts.changeHash });
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw new MigrationFailedError(r.file.file, earlier, `writing its history row: ${errorMessage(err)}`, false, account);
  }
}
