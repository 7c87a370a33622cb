/**
 * Databases a killed staging refresh left on staging's server: its private copy
 * (`<db>__pgref_new_<hex>`, production's rows restored but not yet — or only partly — masked) and an
 * old staging renamed aside (`<db>__pgref_old_<hex>`); and on the same server the scratch database
 * of a killed `backup verify --scratch-url` or a database a killed `restore` was filling (both
 * marked by the same kind of comment). Each side database carries a comment naming
 * the refresh that made it (pid and host); it is a leftover once that process is gone (same host),
 * or — no comment, another host — once no refresh session is connected to the server. Listed by
 * `backup list --leftovers` and `status`, dropped by `backup prune --yes` and by the next refresh.
 */
import { hostname } from 'node:os';
import type pg from 'pg';
import type { LoadedConfig } from '../config/load.js';
import { tryConnectionUrl } from '../config/connection.js';
import { quoteIdent, quoteLiteral } from '../pg/client.js';
import { processAlive } from '../os/process-alive.js';
import { errorMessage } from '../errors.js';
import { OLD_MARK, PRIVATE_MARK, REFRESH_APP, connectMaintenance, stagingDatabaseName } from './refresh-swap.js';

export interface RefreshDatabaseLeftover {
  environment: string;
  database: string;
  /**
   * private-copy: a refresh's private copy (production rows, masking not committed); old-staging:
   * staging renamed aside; verify-scratch: `backup verify --scratch-url`'s database; partial-restore:
   * a database `restore` created and was killed filling. All but old-staging hold unmasked rows.
   */
  kind: 'private-copy' | 'old-staging' | 'verify-scratch' | 'partial-restore';
  /** The refresh that made it, when recorded. */
  ownerPid: number | null;
  ownerHost: string | null;
}

const COMMENT_RE = /^prodguard (staging refresh|backup verify|restore): pid (\d+) on (\S+)/;
type Maker = 'staging refresh' | 'backup verify' | 'restore';

/** The comment a run puts on a database it creates and may be killed filling (read back below). */
export function ownerComment(maker: Maker = 'staging refresh'): string {
  return `prodguard ${maker}: pid ${process.pid} on ${hostname()} since ${new Date().toISOString()}`;
}

export async function markOwner(m: pg.Client, database: string, maker: Maker = 'staging refresh'): Promise<void> {
  await m.query(`COMMENT ON DATABASE ${quoteIdent(database)} IS ${quoteLiteral(ownerComment(maker))}`);
}

function sideKind(db: string, name: string): RefreshDatabaseLeftover['kind'] | null {
  const prefix = db.slice(0, 63 - PRIVATE_MARK.length - 8);
  if (!name.startsWith(prefix)) return null;
  const rest = name.slice(prefix.length);
  if (new RegExp(`^${PRIVATE_MARK}[0-9a-f]{8}$`).test(rest)) return 'private-copy';
  if (new RegExp(`^${OLD_MARK}[0-9a-f]{8}$`).test(rest)) return 'old-staging';
  return null;
}

/** Side databases of killed refreshes of staging database `db` on the server `m` is connected to. */
export async function abandonedSideDatabases(m: pg.Client, environment: string, db: string): Promise<RefreshDatabaseLeftover[]> {
  const rows = (await m.query<{ datname: string; comment: string | null }>(
    `SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database`,
  )).rows;
  const refreshSessions = Number((await m.query(
    `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`,
    [REFRESH_APP],
  )).rows[0].n);
  const out: RefreshDatabaseLeftover[] = [];
  for (const r of rows) {
    const mm = COMMENT_RE.exec(r.comment ?? '');
    const kind = sideKind(db, r.datname) ?? (mm?.[1] === 'backup verify' ? 'verify-scratch' : mm?.[1] === 'restore' ? 'partial-restore' : null);
    if (!kind) continue;
    const ownerPid = mm ? Number(mm[2]) : null;
    const ownerHost = mm ? mm[3] : null;
    const gone = ownerPid !== null && ownerHost === hostname() ? ownerPid !== process.pid && !processAlive(ownerPid) : refreshSessions === 0;
    if (gone) out.push({ environment, database: r.datname, kind, ownerPid, ownerHost });
  }
  return out;
}

/** Every staging-kind environment's abandoned side databases; unreachable servers go to `errors`. */
export async function findRefreshLeftovers(loaded: LoadedConfig, opts: { drop?: boolean } = {}): Promise<{ databases: RefreshDatabaseLeftover[]; dropped: string[]; errors: Array<{ environment: string; error: string }> }> {
  const databases: RefreshDatabaseLeftover[] = [];
  const dropped: string[] = [];
  const errors: Array<{ environment: string; error: string }> = [];
  for (const [name, e] of Object.entries(loaded.config.environments)) {
    if (e.kind !== 'staging') continue;
    const url = tryConnectionUrl(loaded, name);
    if (!url) continue;
    let m: pg.Client | null = null;
    try {
      m = await connectMaintenance(url, 'prodguard leftovers'); // not REFRESH_APP: never mistaken for a live refresh
      const found = await abandonedSideDatabases(m, name, stagingDatabaseName(url));
      databases.push(...found);
      if (opts.drop) {
        for (const d of found) {
          await m.query(`DROP DATABASE IF EXISTS ${quoteIdent(d.database)} WITH (FORCE)`);
          dropped.push(`${name}:${d.database}`);
        }
      }
    } catch (err) {
      errors.push({ environment: name, error: errorMessage(err) });
    } finally {
      await m?.end().catch(() => {});
    }
  }
  return { databases, dropped, errors };
}
