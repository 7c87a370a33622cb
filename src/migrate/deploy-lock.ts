/**
 * One migration run at a time per environment. A deploy (and `migrate apply` on staging) holds a
 * PostgreSQL session advisory lock in the target database from before it reads the pending
 * migrations until it is done, on a connection of its own. A second run waits for it (and says
 * who holds it) and then re-reads what is pending — so a file is never applied twice — or, with
 * --no-wait, is refused at once. The lock lives in the database, not on this machine: two CI
 * runners deploying the same environment serialise too. If the lock connection drops, PostgreSQL
 * releases the lock: the session switches off statement_timeout and idle_session_timeout (a
 * role-level timeout would otherwise cancel the wait or end the idle holder), and a run calls
 * ensureHeld() right before it applies anything, so a lock lost during a long backup stops the
 * run instead of letting two runs apply. Session advisory locks need a direct or session-mode
 * pooler connection (not a transaction-mode pooler such as Supabase's port 6543).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { connect } from '../pg/client.js';
import { RefusedError, errorMessage } from '../errors.js';
import { HOLDS_LOCK_SQL, LOCK_HOLDER_SQL, LOCK_SQL, TRY_LOCK_SQL, UNLOCK_SQL } from './sql/deploy-lock.js';

/** The advisory lock key of prodguard's migration runs (a signed 64-bit integer, as text). */
export function migrationLockKey(): string {
  return createHash('sha256').update('prodguard:migrate').digest().readBigInt64BE(0).toString();
}

function keyParts(key: string): { classid: string; objid: string } {
  const u = BigInt.asUintN(64, BigInt(key));
  return { classid: (u >> 32n).toString(), objid: (u & 0xffffffffn).toString() };
}

export interface MigrationLock {
  /** Throws (nothing applied yet) when the lock was lost. */
  ensureHeld(): Promise<void>;
  release(): Promise<void>;
}

export interface LockOptions {
  env: string;
  actor: string;
  /** Refuse instead of waiting when another run holds the lock. */
  noWait?: boolean;
  /** Told once when this run has to wait. */
  onWait?: (message: string) => void;
}

/** Who holds the lock, for the message: "pid 123 (prodguard migrate lock production by ci, since …)". */
async function describeHolder(c: pg.Client, key: string): Promise<string> {
  const { classid, objid } = keyParts(key);
  const r = await c.query(LOCK_HOLDER_SQL, [classid, objid]).catch(() => ({ rows: [] as Array<Record<string, string>> }));
  const h = r.rows[0] as { pid: number; application_name: string; since: string } | undefined;
  return h ? `pid ${h.pid} (${h.application_name || 'unknown client'}, connected since ${h.since})` : 'another session';
}

export async function acquireMigrationLock(url: string, opts: LockOptions): Promise<MigrationLock> {
  const key = migrationLockKey();
  const c = await connect(url, { applicationName: `prodguard migrate lock ${opts.env} by ${opts.actor}`.slice(0, 63) });
  try {
    await c.query('SET statement_timeout = 0');
    // PostgreSQL 14+; older servers have no such setting and never end idle sessions.
    await c.query('SET idle_session_timeout = 0').catch(() => {});
    const got = (await c.query(TRY_LOCK_SQL, [key])).rows[0].ok === true;
    if (!got) {
      const holder = await describeHolder(c, key);
      if (opts.noWait) {
        throw new RefusedError(`another migration run on ${opts.env} holds the migration lock (${holder}); refusing (--no-wait): nothing was read or applied`, 'migrate.locked');
      }
      opts.onWait?.(`waiting for another migration run on ${opts.env} to finish (${holder} holds the migration lock)`);
      await c.query(LOCK_SQL, [key]);
    }
  } catch (err) {
    await c.end().catch(() => {});
    if (err instanceof RefusedError) throw err;
    throw new RefusedError(`cannot take the migration lock on ${opts.env}: ${errorMessage(err)}`, 'migrate.lock-failed');
  }
  const { classid, objid } = keyParts(key);
  return {
    async ensureHeld() {
      const n = await c
        .query(HOLDS_LOCK_SQL, [classid, objid])
        .then((r) => r.rows[0].n as number)
        .catch(() => 0);
      if (n < 1) throw new RefusedError(`lost the migration lock on ${opts.env} (its connection ended); nothing was applied — run again`, 'migrate.lock-lost');
    },
    async release() {
      await c.query(UNLOCK_SQL, [key]).catch(() => {});
      await c.end().catch(() => {});
    },
  };
}
