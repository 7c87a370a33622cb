/**
 * `prodguard restore`: a logical backup into a target, safely.
 *
 * - Into a NEW database by default (named <db>_restore_<time> unless --new-database).
 * - Production is refused (break-glass is the only way, and it does not exist yet).
 * - A non-empty target database needs --replace, and then a backup of the target is taken first;
 *   the target is dropped and recreated only after that backup succeeded.
 * - Row counts are compared with the manifest afterwards; any mismatch fails the restore.
 */
import { recordUnmaskedRestore, stagingRestoreGate } from './staging-gate.js';
import { markOwner } from '../migrate/refresh-leftovers.js';
import type { KeyObject } from 'node:crypto';
import type { Context } from '../context.js';
import { withClient, quoteIdent } from '../pg/client.js';
import { parseConnInfo, withDatabase } from '../pg/conninfo.js';
import { RefusedError, UsageError, errorMessage } from '../errors.js';
import { resolveRestoreTarget } from './target.js';
import { assertSessionConnection } from '../supabase/connection.js';
import { refuseProductionServer } from './server-identity.js';
import { openPrivateDir } from '../backup/private-dir.js';
import { backupJobs } from '../backup/jobs.js';
import { productionRestoreGate } from '../emergency/restore-gate.js';
import { COUNT_USER_TABLES } from './sql/user-tables.js';
import { applyDatabaseProperties, dropRoles, ensureRoles, parseDatabaseProperties } from './roles.js';
import type { BackupStream } from '../backup/stream-restore.js';
import { compareRowCounts, completeRowCounts, countRowsParallel, type CountMismatch } from './verify-counts.js';
import { readCiTokenUse, restoreCiTokenUse } from '../policy/ci-token-use.js';

export interface RestoreOptions {
  backup: string;
  to: string;
  /** Environment whose backups to read (default: the production environment). */
  sourceEnv?: string;
  newDatabase?: string;
  /** Restore into the target URL's own database even when it is not empty (backs it up first). */
  replace?: boolean;
  /** The break-glass holder's private key: proves who restores over production (emergency/restore-gate.ts). */
  key?: KeyObject;
  jobs?: number;
  /** Skip GRANT/REVOKE (a target server without the source's roles). */
  noAcl?: boolean;
  /** Into a staging environment: restore production's data as it is, unmasked (refused without it; see staging-gate.ts). */
  unmasked?: boolean;
  env?: Record<string, string | undefined>;
  onProgress?: (line: string) => void;
}

export interface RestoreResult {
  backupId: string;
  sourceEnvironment: string;
  target: string;
  database: string;
  createdDatabase: boolean;
  safetyBackupId: string | null;
  tables: number;
  rows: number;
  mismatches: CountMismatch[];
  durationMs: number;
  /** Roles the target lacked, created NOLOGIN without password. */
  createdRoles: string[];
  /** Database/role settings or grants that could not be applied. */
  warnings: string[];
}

export function defaultSourceEnv(ctx: Context): string {
  const prod = Object.entries(ctx.loaded.config.environments).find(([, e]) => e.kind === 'production');
  if (!prod) throw new UsageError('no production environment configured; pass --env', 'restore.no-source');
  return prod[0];
}

async function databaseExists(serverUrl: string, name: string): Promise<boolean> {
  return withClient(serverUrl, async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount! > 0);
}

async function userTableCount(url: string): Promise<number> {
  return withClient(url, async (c) => (await c.query<{ n: number }>(COUNT_USER_TABLES)).rows[0].n);
}

function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export async function restoreBackup(ctx: Context, opts: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  const progress = opts.onProgress ?? (() => {});
  const sourceEnv = opts.sourceEnv ?? defaultSourceEnv(ctx);
  const jobs = opts.jobs ?? backupJobs(ctx.loaded.config.backup.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new UsageError(`--jobs must be 1–64, got ${opts.jobs}`);
  const target = resolveRestoreTarget(ctx.loaded, opts.to, opts.env);
  const audit = { action: 'restore', command: `prodguard restore ${opts.backup} --to ${target.label}${opts.replace ? ' --replace' : ''}${opts.unmasked ? ' --unmasked' : ''}`, target: target.resolved.name ?? target.label };
  try {
    assertSessionConnection(target.url, 'pg_restore'); // Supabase hook (src/supabase): no transaction-mode pooler, before anything connects
    // Production only as --replace under an open break-glass grant (src/emergency/restore-gate.ts).
    const grantId = await productionRestoreGate(ctx, target, !!opts.replace, opts.key);
    // By server identity, not by URL spelling: any other database on production's server is refused.
    if (!grantId) await refuseProductionServer(ctx, target.url, target.label, opts.env);
    // Staging gets production's data masked (staging refresh), never as it is without --unmasked.
    const unmaskedIntoStaging = stagingRestoreGate(ctx, target, sourceEnv, !!opts.unmasked);
    const backup = await import('./backup-api.js');
    const entry = await backup.getBackup(ctx, opts.backup, { env: sourceEnv });
    const manifest = entry;
    const info = parseConnInfo(target.url);
    if (!info) throw new UsageError('cannot parse the target connection string', 'restore.bad-target');

    // Which database, and is it safe to write into?
    let database: string;
    let createdDatabase = false;
    let safetyBackupId: string | null = null;
    if (opts.newDatabase || !opts.replace) {
      database = opts.newDatabase ?? `${manifest.database}_restore_${stamp()}`;
      if (!/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/.test(database)) throw new UsageError(`--new-database: not a valid database name: "${database}"`);
    } else {
      database = info.database;
    }
    const dbUrl = withDatabase(target.url, database);
    const exists = await databaseExists(target.url, database);
    const nonEmpty = exists && (await userTableCount(dbUrl)) > 0;
    if (nonEmpty) {
      if (!opts.replace) {
        throw new RefusedError(`target database "${database}" on ${target.label} is not empty; pass --replace to restore into it (prodguard backs it up first), or restore into a new database`, 'restore.target-not-empty');
      }
      if (!target.resolved.name) {
        throw new RefusedError(`target ${target.label} is not a configured environment, so prodguard cannot file a backup of it before replacing it; add it to prodguard.yaml`, 'restore.target-unknown');
      }
    }

    // Decrypted dump: a 0700 dir removed on every exit path, kill -9 included.
    const workDir = openPrivateDir('prodguard-restore-');
    const work = workDir.path;
    let mismatches: CountMismatch[];
    let tables = 0;
    let rows = 0;
    // What this restore created on the target, removed again if it fails.
    let createdRoles: string[] = [];
    let warnings: string[] = [];
    let stream: BackupStream | null = null;
    let tokensUsed: Awaited<ReturnType<typeof readCiTokenUse>> = [];
    try {
      // Key, copies and small objects first: a wrong key or a missing object fails before the target
      // is touched; replacing existing data also checks every object's sha256 first. The dump
      // itself is then streamed from the decrypting reader into pg_restore (no plaintext file).
      progress(`fetching backup ${manifest.id} (${sourceEnv}, ${manifest.finishedAt})`);
      stream = await backup.openBackupStream(ctx, manifest.id, work, { env: sourceEnv, verifyFirst: nonEmpty });
      const m = stream;
      const props = parseDatabaseProperties({ properties: stream.propertiesText, globals: stream.globalsText });
      if (nonEmpty) {
        progress(`target "${database}" is not empty: backing it up first`);
        const safety = await backup.createBackup(ctx, { env: target.resolved.name!, reason: `before restore of ${manifest.id} into ${database}`, url: dbUrl });
        safetyBackupId = safety.id;
        progress(`backup of the target: ${safety.id}`);
        // Deploy tokens already used stay used whatever the backup remembers (w5c-048).
        tokensUsed = await readCiTokenUse(dbUrl);
        // Recreate the database empty (same owner): exact, and nothing of the old content can mix in.
        await withClient(withDatabase(target.url, 'postgres'), async (c) => {
          const owner = (await c.query<{ o: string }>('SELECT pg_get_userbyid(datdba) AS o FROM pg_database WHERE datname = $1', [database])).rows[0].o;
          await c.query(`DROP DATABASE ${quoteIdent(database)} WITH (FORCE)`);
          await c.query(`CREATE DATABASE ${quoteIdent(database)} OWNER ${quoteIdent(owner)}`);
          await markOwner(c, database, 'restore').catch(() => {}); // only its owner or a superuser may comment
        });
      } else if (!exists) {
        await withClient(target.url, async (c) => {
          await c.query(`CREATE DATABASE ${quoteIdent(database)}`);
          // A kill while it fills leaves a recognisable, reported leftover (migrate/refresh-leftovers.ts).
          await markOwner(c, database, 'restore');
        });
        createdDatabase = true;
      }
      try {
        const ensured = await ensureRoles(target.url, opts.noAcl ? null : props);
        createdRoles = ensured.created;
        warnings = ensured.warnings;
        if (createdRoles.length) progress(`created ${createdRoles.length} missing role(s) NOLOGIN without password: ${createdRoles.join(', ')}`);
        progress(`restoring into ${target.label}/${database} with ${jobs} job(s)`);
        const copied = await stream.restore(dbUrl, { jobs, onProgress: opts.onProgress, noAcl: opts.noAcl });
        // Filled: no longer a killed run's leftover (the backup's own comment, if any, follows).
        await withClient(target.url, (c) => c.query(`COMMENT ON DATABASE ${quoteIdent(database)} IS NULL`)).catch(() => {});
        warnings.push(...(await applyDatabaseProperties(target.url, database, opts.noAcl ? null : props)));
        for (const w of warnings) progress(`warning: ${w}`);
        // Directory format: the server's COPY counts (no second scan); anything else counted exactly.
        const actual = copied ? await completeRowCounts(dbUrl, copied, jobs) : await countRowsParallel(dbUrl, jobs);
        mismatches = compareRowCounts(m.manifest.rowCounts, actual);
        tables = Object.keys(actual).length;
        rows = Object.values(actual).reduce((a, b) => a + b, 0);
        if (mismatches.length) {
          throw new RefusedError(`restored, but row counts differ from the backup manifest in ${mismatches.length} table(s): ${mismatches.slice(0, 3).map((x) => `${x.table} ${x.actual ?? 'missing'} ≠ ${x.expected}`).join(', ')}`, 'restore.count-mismatch');
        }
        // After the counts (they are the backup's): tokens used since the backup stay used.
        await restoreCiTokenUse(dbUrl, tokensUsed);
      } catch (err) {
        // Leave nothing half-restored that would block a retry: drop what we created.
        if (createdDatabase) await withClient(target.url, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`)).catch(() => {});
        await dropRoles(target.url, createdRoles).catch(() => {});
        throw err;
      }
    } finally {
      await stream?.close();
      workDir.dispose();
    }
    if (unmaskedIntoStaging) {
      await recordUnmaskedRestore(ctx, { environment: target.resolved.name ?? target.label, sourceEnvironment: sourceEnv, backupId: manifest.id, database });
      progress(`${target.label} now holds ${sourceEnv}'s data UNMASKED in "${database}" (--unmasked); status reports it until the next staging refresh`);
    }
    const result: RestoreResult = { backupId: manifest.id, sourceEnvironment: sourceEnv, target: target.label, database, createdDatabase, safetyBackupId, tables, rows, mismatches, durationMs: Date.now() - started, createdRoles, warnings };
    await ctx.audit({ ...audit, verdict: 'ok', reason: `restored ${manifest.id} into ${database} (${tables} tables, ${rows} rows, counts verified)`, details: { backupId: manifest.id, database, safetyBackupId, durationMs: result.durationMs, createdRoles, warnings, ...(grantId ? { grant: grantId } : {}), ...(unmaskedIntoStaging ? { unmasked: true } : {}) } });
    return result;
  } catch (err) {
    await ctx.audit({ ...audit, verdict: err instanceof RefusedError ? 'refused' : 'failed', reason: errorMessage(err) });
    throw err;
  }
}
