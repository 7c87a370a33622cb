/**
 * The database-level half of staging refresh: production's dump is restored into a *private*
 * database next to staging (CONNECT revoked from PUBLIC, so only prodguard's role — its owner —
 * and superusers can read it), masked there, and only then swapped in for staging by renaming
 * both databases in one transaction. A kill at any moment therefore leaves either the old
 * staging or the new, masked one under staging's name — never unmasked data where staging's
 * users connect. Leftovers of a killed run (a private database, an old staging renamed aside)
 * carry recognisable names and are dropped by the next refresh before it starts.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { connect, quoteIdent, quoteLiteral } from '../pg/client.js';
import { parseConnInfo, withDatabase } from '../pg/conninfo.js';
import { RefusedError } from '../errors.js';
import { markOwner } from './refresh-leftovers.js';

/** application_name of every refresh session (refresh-leftovers.ts tells a live refresh by it). */
export const REFRESH_APP = 'prodguard staging refresh';
const APP = REFRESH_APP;

/** Suffixes of the side databases (kept short: database names are limited to 63 bytes). */
export const PRIVATE_MARK = '__pgref_new_';
export const OLD_MARK = '__pgref_old_';

export function stagingDatabaseName(url: string): string {
  const c = parseConnInfo(url);
  if (!c) throw new RefusedError('staging refresh: cannot parse the staging connection', 'migrate.bad-url');
  return c.database;
}

/** A connection to the same server, to a database other than staging (CREATE/RENAME/DROP run from there). */
export async function connectMaintenance(url: string, applicationName: string = APP): Promise<pg.Client> {
  const db = stagingDatabaseName(url);
  let lastErr: unknown;
  for (const m of ['postgres', 'template1']) {
    if (m === db) continue;
    try {
      return await connect(withDatabase(url, m), { applicationName });
    } catch (err) {
      lastErr = err;
    }
  }
  throw lastErr;
}

function sideName(db: string, mark: string): string {
  return `${db.slice(0, 63 - mark.length - 8)}${mark}${randomBytes(4).toString('hex')}`;
}

/** Drops leftovers of earlier, killed refreshes of this staging database. */
export async function dropLeftovers(m: pg.Client, db: string): Promise<string[]> {
  const prefix = db.slice(0, 63 - PRIVATE_MARK.length - 8);
  const mine = (n: string) => n.startsWith(prefix) && [PRIVATE_MARK, OLD_MARK].some((mark) => new RegExp(`^${mark}[0-9a-f]{8}$`).test(n.slice(prefix.length)));
  const rows = (await m.query<{ datname: string }>(`SELECT datname FROM pg_database`)).rows.map((r) => r.datname).filter(mine);
  for (const d of rows) await m.query(`DROP DATABASE IF EXISTS ${quoteIdent(d)} WITH (FORCE)`);
  return rows;
}

/**
 * A refresh killed while staging's connections were held off (seconds before the rename) leaves
 * staging refusing connections next to its private copy: give staging its connections back so
 * the next refresh can check its identity. Only in exactly that state (our flag and our copy).
 */
export async function recoverInterrupted(url: string): Promise<boolean> {
  const db = stagingDatabaseName(url);
  const m = await connectMaintenance(url);
  try {
    const row = (await m.query<{ allow: boolean }>(`SELECT datallowconn AS allow FROM pg_database WHERE datname = $1`, [db])).rows[0];
    if (!row || row.allow) return false;
    const prefix = db.slice(0, 63 - PRIVATE_MARK.length - 8);
    const names = (await m.query<{ datname: string }>(`SELECT datname FROM pg_database`)).rows.map((r) => r.datname);
    if (!names.some((n) => n.startsWith(prefix) && new RegExp(`^${PRIVATE_MARK}[0-9a-f]{8}$`).test(n.slice(prefix.length)))) return false;
    await m.query(`ALTER DATABASE ${quoteIdent(db)} WITH ALLOW_CONNECTIONS true`);
    return true;
  } finally {
    await m.end().catch(() => {});
  }
}

/** Creates the private database nobody but its owner (prodguard's role) may connect to. */
export async function createPrivateDatabase(m: pg.Client, db: string): Promise<string> {
  const name = sideName(db, PRIVATE_MARK);
  // template0: a clean database, no objects a template might carry; same encoding/locale as staging.
  const enc = (await m.query<{ enc: string; collate: string; ctype: string }>(
    `SELECT pg_encoding_to_char(encoding) AS enc, datcollate AS collate, datctype AS ctype FROM pg_database WHERE datname = $1`,
    [db],
  )).rows[0];
  const opts = enc ? ` ENCODING ${quoteLiteral(enc.enc)} LC_COLLATE ${quoteLiteral(enc.collate)} LC_CTYPE ${quoteLiteral(enc.ctype)}` : '';
  await m.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0${opts}`);
  await m.query(`REVOKE ALL ON DATABASE ${quoteIdent(name)} FROM PUBLIC`);
  // Who made it: a killed refresh's copy is then reported (status, backup list --leftovers) and dropped.
  await markOwner(m, name);
  return name;
}

/** The staging database's database-level grants, replayed on the new one at the swap. */
async function databaseAcl(m: pg.Client, db: string): Promise<{ owner: string; grants: string[] }> {
  const row = (await m.query<{ owner: string; acl: string[] | null }>(
    `SELECT pg_get_userbyid(datdba) AS owner, datacl::text[] AS acl FROM pg_database WHERE datname = $1`,
    [db],
  )).rows[0];
  if (!row) throw new RefusedError(`staging refresh: database ${db} does not exist on staging's server`, 'staging.no-database');
  const grants: string[] = [];
  const acl = row.acl ?? ['=Tc/' + row.owner]; // NULL: the default (PUBLIC may CONNECT and TEMPORARY)
  for (const item of acl) {
    const mm = /^(.*)=([A-Za-z*]*)\/(.*)$/.exec(item);
    if (!mm) continue;
    const grantee = mm[1] === '' ? 'PUBLIC' : quoteIdent(unquoteAcl(mm[1]));
    const privs = [...mm[2].replace(/\*/g, '')].map((ch) => ({ C: 'CREATE', c: 'CONNECT', T: 'TEMPORARY' })[ch]).filter(Boolean);
    if (privs.length) grants.push(`GRANT ${privs.join(', ')} ON DATABASE %DB% TO ${grantee}`);
  }
  return { owner: row.owner, grants };
}

const unquoteAcl = (s: string) => (s.startsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s);

async function otherSessions(m: pg.Client, db: string): Promise<number> {
  return Number((await m.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [db])).rows[0].n);
}

/**
 * Swaps `privateDb` in for `db`: new connections to staging are held off, staging's sessions are
 * ended (an open transaction would otherwise block the rename forever), both renames and the
 * grants commit together under a lock timeout, and the old database is dropped only afterwards.
 */
export async function swapIn(
  m: pg.Client,
  db: string,
  privateDb: string,
  opts: { lockTimeout: string; waitMs: number; onPhase?: (p: string) => void },
): Promise<{ terminated: number }> {
  const { owner, grants } = await databaseAcl(m, db);
  const oldName = sideName(db, OLD_MARK);
  let terminated = 0;
  await m.query(`ALTER DATABASE ${quoteIdent(db)} WITH ALLOW_CONNECTIONS false`);
  try {
    const deadline = Date.now() + opts.waitMs;
    for (;;) {
      const n = await otherSessions(m, db);
      if (n === 0) break;
      if (Date.now() > deadline) {
        throw new RefusedError(`staging refresh: ${n} session(s) on ${db} did not end; staging is unchanged (end them, or ask the role running prodguard to be allowed pg_signal_backend)`, 'staging.sessions');
      }
      opts.onPhase?.(`ending ${n} session(s) connected to ${db}`);
      const r = await m.query(`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [db]);
      terminated += r.rows.filter((x: { ok: boolean }) => x.ok).length;
      await new Promise((res) => setTimeout(res, 100));
    }
    await m.query('BEGIN');
    try {
      await m.query(`SET LOCAL lock_timeout = ${quoteLiteral(opts.lockTimeout)}`);
      await m.query(`ALTER DATABASE ${quoteIdent(db)} RENAME TO ${quoteIdent(oldName)}`);
      await m.query(`ALTER DATABASE ${quoteIdent(privateDb)} RENAME TO ${quoteIdent(db)}`);
      await m.query(`COMMENT ON DATABASE ${quoteIdent(db)} IS NULL`);
      await markOwner(m, oldName);
      await m.query(`ALTER DATABASE ${quoteIdent(db)} OWNER TO ${quoteIdent(owner)}`);
      for (const g of grants) await m.query(g.replace('%DB%', quoteIdent(db)));
      await m.query('COMMIT');
    } catch (err) {
      await m.query('ROLLBACK').catch(() => {});
      throw err;
    }
  } finally {
    // Whichever database now carries the name (old on failure, new on success) accepts connections again.
    await m.query(`ALTER DATABASE ${quoteIdent(db)} WITH ALLOW_CONNECTIONS true`).catch(() => {});
  }
  await m.query(`DROP DATABASE IF EXISTS ${quoteIdent(oldName)} WITH (FORCE)`);
  return { terminated };
}
