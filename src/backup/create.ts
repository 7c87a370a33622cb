/**
 * `backup create`: one consistent pg_dump, encrypted once, streamed to every destination at the
 * same time, manifest written last.
 *
 * Consistency: we open a REPEATABLE READ transaction, export its snapshot, hand it to
 * `pg_dump --snapshot`, and count every table's rows inside that same transaction — so the
 * manifest's counts describe exactly the rows in the dump.
 *
 * Compression: the custom format is already compressed by pg_dump (zlib, level from
 * backup.compression, per table), and encrypted data does not compress, so we add no second
 * compression stage: it would cost CPU for nothing. Directory format is compressed per file the
 * same way (by us, while the files are uploaded: see dir-dump.ts).
 *
 * Streaming: custom format flows pg_dump stdout → age → sha256 → every destination, never touching
 * local disk. Directory format (parallel `-j`) cannot go to stdout, so it is written to a temp
 * directory first and each file is then streamed the same way (documented in docs/backup.md).
 *
 * Failure: a destination that fails is dropped, the backup completes on the others and is marked
 * degraded; if every destination fails, nothing is recorded. The manifest is written only after
 * all data objects are complete, so a kill at any point leaves no listed backup.
 */
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Context } from '../context.js';
import { connectionUrl, requireEnvironment } from '../config/connection.js';
import { connect, quoteIdent } from '../pg/client.js';
import { ProdguardError, RefusedError, errorMessage } from '../errors.js';
import { maskSecrets } from '../security/mask.js';
import { assertSessionConnection, toolVersionWarning } from '../supabase/connection.js';
import { openDestinations, closeDestinations, type Destination } from './destinations/index.js';
import { encryptionPlan, encryptStream } from './encryption.js';
import { fanOut, describeError } from './fan-out.js';
import { countRowsWith } from './row-counts.js';
import { BEGIN_SNAPSHOT_SQL, EXPORT_SNAPSHOT_SQL, LIST_TABLES_SQL, SERVER_FACTS_SQL, countTableSql } from './sql/row-counts.js';
import { tableOfFiles, uploadWhileDumping } from './dir-dump.js';
import { backupJobs } from './jobs.js';
import { dumpCommand, dumpRoles, pgDumpVersion, spawnPgDump } from './pg-dump.js';
import { putCatalog } from './catalog.js';
import { openPrivateDir, type PrivateDir } from './private-dir.js';
import { dbPropertiesObjectName, readDatabaseProperties } from './db-properties.js';
import { authoriseDestinations, type DestinationsAuthority } from './destination-policy.js';
import {
  MANIFEST_NAME,
  backupFolder,
  dumpObjectName,
  globalsObjectName,
  newBackupId,
  type BackupManifest,
  type BackupObject,
} from './manifest.js';

export interface CreateBackupOptions {
  env: string;
  reason?: string;
  url?: string;
  onProgress?: (p: { bytes: number }) => void;
  /** Called at the start of each phase, for quiet progress lines. */
  onPhase?: (phase: string) => void;
}

export interface CreateBackupResult {
  id: string;
  manifest: BackupManifest;
  degraded: boolean;
  failedDestinations: Array<{ name: string; error: string }>;
}

export async function createBackup(ctx: Context, opts: CreateBackupOptions): Promise<CreateBackupResult> {
  const { loaded } = ctx;
  const cfg = loaded.config.backup;
  // Everything that can be wrong with the configuration fails here, before anything is written.
  let enc: ReturnType<typeof encryptionPlan>;
  let url: string;
  let dests: Destination[];
  let authorisedBy: DestinationsAuthority | null;
  try {
    requireEnvironment(loaded, opts.env);
    enc = encryptionPlan(loaded);
    url = opts.url ?? connectionUrl(loaded, opts.env);
    assertSessionConnection(url, 'pg_dump'); // Supabase hook (src/supabase): no transaction-mode pooler
    // Production's data goes only where the signed policy says (ap-078): before any destination opens.
    authorisedBy = await authoriseDestinations(ctx, opts.env, url);
    dests = openDestinations(loaded);
  } catch (err) {
    await auditRefused(ctx, opts, err);
    throw err;
  }
  const failed = new Map<string, string>();
  const alive = () => dests.filter((d) => !failed.has(d.name));
  const id = newBackupId();
  const folder = backupFolder(opts.env, id);
  const startedAt = new Date().toISOString();
  const objects: BackupObject[] = [];
  let bytesSoFar = 0;
  const progress = (n: number) => {
    bytesSoFar += n;
    opts.onProgress?.({ bytes: bytesSoFar });
  };
  const phase = (p: string) => opts.onPhase?.(p);

  // Asked while we connect rather than after: every step before pg_dump starts adds to the backup's time.
  const dumpVersionAsked = pgDumpVersion();
  dumpVersionAsked.catch(() => {});
  let client: Awaited<ReturnType<typeof connect>>;
  try {
    client = await connect(url, { applicationName: 'prodguard backup' });
  } catch (err) {
    await closeDestinations(dests);
    await auditRefused(ctx, opts, err);
    throw err;
  }
  let tmpDir: PrivateDir | null = null;
  try {
    phase('snapshot');
    await client.query(BEGIN_SNAPSHOT_SQL);
    const snapshot = (await client.query<{ snapshot: string }>(EXPORT_SNAPSHOT_SQL)).rows[0].snapshot;
    const facts = (await client.query<{ server_version: string; database: string; lsn: string }>(SERVER_FACTS_SQL)).rows[0];
    const dumpVersion = await dumpVersionAsked;
    const tooOld = toolVersionWarning('pg_dump', dumpVersion, facts.server_version); // Supabase hook: clear message, not pg_dump's
    if (tooOld) throw new RefusedError(`backup failed: ${tooOld}`, 'backup.pg-dump-too-old');
    // Which server this is (restores refuse to write onto it); managed services may hide it.
    let systemIdentifier: string | undefined;
    const readSystemIdentifier = async () => {
      await client.query('SAVEPOINT sysid');
      try {
        systemIdentifier = (await client.query<{ s: string }>('SELECT system_identifier::text AS s FROM pg_control_system()')).rows[0]?.s;
        await client.query('RELEASE SAVEPOINT sysid');
      } catch {
        await client.query('ROLLBACK TO SAVEPOINT sysid');
      }
    };
    // Database/role settings, database grants and comment, and the roles — read in the same snapshot.
    let dbProps: Awaited<ReturnType<typeof readDatabaseProperties>> | undefined;

    const store = async (key: string, source: Readable, compressed: boolean) => {
      const targets = alive();
      if (targets.length === 0) throw new RefusedError(`backup failed: every destination failed (${describeFailures(failed)})`, 'backup.all-destinations-failed');
      const body = enc.encrypted ? await encryptStream(source, enc.recipients) : source;
      const r = await fanOut(body, targets, `${folder}/${key}`, progress);
      for (const [name, err] of r.failed) failed.set(name, err);
      objects.push({ name: key, bytes: r.bytes, sha256: r.sha256, encrypted: enc.encrypted, compressed });
      if (alive().length === 0) throw new RefusedError(`backup failed: every destination failed (${describeFailures(failed)})`, 'backup.all-destinations-failed');
    };

    phase('dump');
    // Roles are small and independent of the snapshot: dump them while the data dump runs.
    const rolesDump = dumpRoles(url);
    rolesDump.catch(() => {});
    let rowCounts: Record<string, number>;
    const compression = cfg.compression;
    if (cfg.format === 'custom') {
      // Before pg_dump: the row counts below share this client, and a refused query would abort them.
      await readSystemIdentifier();
      const cmd = dumpCommand({ url, snapshot, format: 'custom', compression, jobs: 1 });
      const dump = spawnPgDump(cmd.args, cmd.env);
      // Count rows in the snapshot while pg_dump runs (it has imported the snapshot by then or
      // will; the exporting transaction stays open until both are done).
      const counting = countRowsWith(client);
      counting.catch(() => {});
      try {
        await store(dumpObjectName('custom', enc.encrypted), dump.child.stdout!, compression > 0);
        await dump.finished;
      } catch (err) {
        dump.child.kill('SIGKILL');
        await dump.finished.catch(() => {});
        throw err;
      }
      rowCounts = await counting;
    } else {
      // Plaintext until each file is encrypted: a 0700 dir removed on every exit path, kill -9 included.
      tmpDir = openPrivateDir('prodguard-dump-');
      const outDir = join(tmpDir.path, 'dump');
      // pg_dump compresses in its own workers (as bare pg_dump -Fd -j N does); rows are counted on
      // an inflated copy in a worker thread while the compressed bytes are encrypted and stored (dir-dump.ts).
      const cmd = dumpCommand({ url, snapshot, format: 'directory', compression, jobs: backupJobs(cfg.jobs), outDir });
      const dump = spawnPgDump(cmd.args, cmd.env);
      // The snapshot client is idle while pg_dump runs: everything else it has to read, now.
      const alongside = (async () => {
        const tables = (await client.query<{ schema: string; table: string }>(LIST_TABLES_SQL)).rows;
        await readSystemIdentifier();
        dbProps = await readDatabaseProperties(client);
        return tables;
      })();
      alongside.catch(() => {});
      // Files go out (encrypted, to every destination) as pg_dump finishes them, rows counted on
      // the way: no second pass over the dump, no count(*) scan beside it.
      let up: Awaited<ReturnType<typeof uploadWhileDumping>>;
      let fileTable = new Map<string, string>();
      try {
        up = await uploadWhileDumping(dump, outDir, (file, body) => store(dumpObjectName('directory', enc.encrypted, file), body, file.endsWith('.gz')), {
          // pg_restore -l reads toc.dat while toc.dat is being stored.
          alongsideToc: async () => {
            fileTable = await tableOfFiles(outDir, await alongside);
          },
        });
      } catch (err) {
        dump.child.kill('SIGKILL');
        await dump.finished.catch(() => {});
        throw err;
      }
      phase('row counts');
      const tables = await alongside;
      rowCounts = {};
      const uncounted: typeof tables = [];
      for (const t of tables) {
        const key = `${t.schema}.${t.table}`;
        const id = [...fileTable].find(([, v]) => v === key)?.[0];
        const n = id === undefined ? undefined : (up.rowsByFile.get(`${id}.dat.gz`) ?? up.rowsByFile.get(`${id}.dat`));
        if (typeof n === 'number') rowCounts[key] = n;
        else uncounted.push(t);
      }
      // Anything the dump's own data could not tell (unexpected layout): exact count in the same snapshot.
      for (const t of uncounted) {
        const r = await client.query<{ n: string }>(countTableSql(quoteIdent(t.schema), quoteIdent(t.table)));
        rowCounts[`${t.schema}.${t.table}`] = Number(r.rows[0].n);
      }
      rowCounts = Object.fromEntries(Object.entries(rowCounts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      // Deterministic manifest order whatever order the files finished in.
      objects.sort((a, b) => a.name.localeCompare(b.name));
    }
    dbProps ??= await readDatabaseProperties(client);
    await client.query('COMMIT');

    phase('globals');
    await store(dbPropertiesObjectName(enc.encrypted), Readable.from([Buffer.from(JSON.stringify(dbProps, null, 2) + '\n')]), false);
    const roles = await rolesDump;
    let globalsSkipped: string | undefined;
    if ('sql' in roles) await store(globalsObjectName(enc.encrypted), Readable.from([Buffer.from(roles.sql)]), false);
    else globalsSkipped = roles.skipped;

    phase('manifest');
    const manifest: BackupManifest = {
      id,
      environment: opts.env,
      database: facts.database,
      serverVersion: facts.server_version,
      pgDumpVersion: dumpVersion,
      startedAt,
      finishedAt: new Date().toISOString(),
      snapshot,
      lsn: facts.lsn,
      ...(systemIdentifier ? { systemIdentifier } : {}),
      format: cfg.format,
      objects,
      rowCounts,
      recipients: enc.recipients,
      destinations: alive().map((d) => d.name),
      destinationsAuthorisedBy: authorisedBy,
      ...(opts.reason ? { reason: opts.reason } : {}),
      ...(globalsSkipped ? { globalsSkipped } : {}),
    };
    manifest.degraded = failed.size > 0;
    // The manifest goes last, to every destination that holds all objects.
    await writeManifestEverywhere(alive(), manifest, failed);
    manifest.destinations = alive().map((d) => d.name);
    manifest.degraded = failed.size > 0;
    if (manifest.destinations.length === 0) throw new RefusedError(`backup failed: no destination accepted the manifest (${describeFailures(failed)})`, 'backup.all-destinations-failed');
    await putCatalog(ctx, manifest);
    // Partial objects on the failed destinations are not part of any backup: tidy them if reachable.
    await Promise.all(dests.filter((d) => failed.has(d.name)).map((d) => removePartial(d, folder)));
    const failedDestinations = [...failed].map(([name, error]) => ({ name, error }));
    await ctx.audit({
      action: 'backup.create',
      command: 'backup create',
      target: opts.env,
      verdict: manifest.degraded ? 'degraded' : 'ok',
      reason: opts.reason ?? '',
      details: { id, bytes: objects.reduce((s, o) => s + o.bytes, 0), destinations: manifest.destinations, failedDestinations },
    });
    return { id, manifest, degraded: manifest.degraded, failedDestinations };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    // No manifest was written, so nothing here is listed; remove the partial objects now rather
    // than waiting for prune (best effort: a kill -9 leaves them to prune).
    await Promise.all(dests.map((d) => removePartial(d, folder)));
    await ctx
      .audit({
        action: 'backup.create',
        command: 'backup create',
        target: opts.env,
        verdict: 'failed',
        reason: maskSecrets(errorMessage(err) ?? String(err)),
        details: { id, failedDestinations: [...failed].map(([name, error]) => ({ name, error })) },
      })
      .catch(() => {});
    if (err instanceof ProdguardError) throw err;
    throw new ProdguardError(`backup failed: ${describeError(err)}`, { code: 'backup.failed', cause: err });
  } finally {
    await client.end().catch(() => {});
    tmpDir?.dispose();
    await closeDestinations(dests);
  }
}

async function removePartial(d: Destination, folder: string): Promise<void> {
  try {
    const keys = (await d.list(folder + '/')).map((o) => o.key);
    if (keys.some((k) => k.endsWith(`/${MANIFEST_NAME}`))) return;
    for (const k of keys) await d.delete(k);
  } catch {
    /* unreachable destination: prune cleans up later */
  }
}

async function auditRefused(ctx: Context, opts: CreateBackupOptions, err: unknown): Promise<void> {
  await ctx
    .audit({ action: 'backup.create', command: 'backup create', target: opts.env, verdict: 'refused', reason: maskSecrets(errorMessage(err) ?? String(err)) })
    .catch(() => {});
}

function describeFailures(failed: Map<string, string>): string {
  return [...failed].map(([n, e]) => `${n}: ${e}`).join('; ') || 'no destination';
}

export async function writeManifestEverywhere(dests: Destination[], manifest: BackupManifest, failed: Map<string, string>): Promise<void> {
  const key = `${backupFolder(manifest.environment, manifest.id)}/${MANIFEST_NAME}`;
  await Promise.all(
    dests.map(async (d) => {
      try {
        await d.putBytes(key, Buffer.from(JSON.stringify({ ...manifest, destinations: manifest.destinations }, null, 2) + '\n'));
      } catch (err) {
        failed.set(d.name, describeError(err));
      }
    }),
  );
}
