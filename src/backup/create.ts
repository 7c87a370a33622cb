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
 * same way.
 *
 * Streaming: custom format flows pg_dump stdout → age → sha256 → every destination, never touching
 * local disk. Directory format (parallel `-j`) cannot go to stdout, so it is written to a temp
 * directory first and each file is then streamed the same way (documented in docs/backup.md).
 *
 * Failure: a destination that fails is dropped, the backup completes on the others and is marked
 * degraded; if every destination fails, nothing is recorded. The manifest is written only after
 * all data objects are complete, so a kill at any point leaves no listed backup.
 */
import { mkdtempSync, readdirSync, rmSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Context } from '../context.js';
import { connectionUrl, requireEnvironment } from '../config/connection.js';
import { connect } from '../pg/client.js';
import { ProdguardError, RefusedError } from '../errors.js';
import { maskSecrets } from '../security/mask.js';
import { assertSessionConnection, toolVersionWarning } from '../supabase/connection.js';
import { openDestinations, closeDestinations, type Destination } from './destinations/index.js';
import { encryptionPlan, encryptStream } from './encryption.js';
import { fanOut, describeError } from './fan-out.js';
import { countRowsWith } from './row-counts.js';
import { BEGIN_SNAPSHOT_SQL, EXPORT_SNAPSHOT_SQL, SERVER_FACTS_SQL } from './sql/row-counts.js';
import { dumpArgs, dumpRoles, pgDumpVersion, spawnPgDump } from './pg-dump.js';
import { putCatalog } from './catalog.js';
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
  try {
    requireEnvironment(loaded, opts.env);
    enc = encryptionPlan(loaded);
    url = opts.url ?? connectionUrl(loaded, opts.env);
    assertSessionConnection(url, 'pg_dump'); // Supabase hook (src/supabase): no transaction-mode pooler
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

  let client: Awaited<ReturnType<typeof connect>>;
  try {
    client = await connect(url, { applicationName: 'prodguard backup' });
  } catch (err) {
    await closeDestinations(dests);
    await auditRefused(ctx, opts, err);
    throw err;
  }
  let tmpDir: string | null = null;
  try {
    phase('snapshot');
    await client.query(BEGIN_SNAPSHOT_SQL);
    const snapshot = (await client.query<{ snapshot: string }>(EXPORT_SNAPSHOT_SQL)).rows[0].snapshot;
    const facts = (await client.query<{ server_version: string; database: string; lsn: string }>(SERVER_FACTS_SQL)).rows[0];
    const dumpVersion = await pgDumpVersion();
    const tooOld = toolVersionWarning('pg_dump', dumpVersion, facts.server_version); // Supabase hook: clear message, not pg_dump's
    if (tooOld) throw new RefusedError(`backup failed: ${tooOld}`, 'backup.pg-dump-too-old');

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
    let rowCounts: Record<string, number>;
    const compression = cfg.compression;
    if (cfg.format === 'custom') {
      const dump = spawnPgDump(dumpArgs({ url, snapshot, format: 'custom', compression, jobs: 1 }));
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
      tmpDir = mkdtempSync(join(tmpdir(), 'prodguard-dump-'));
      const outDir = join(tmpDir, 'dump');
      const dump = spawnPgDump(dumpArgs({ url, snapshot, format: 'directory', compression, jobs: cfg.jobs, outDir }));
      const counting = countRowsWith(client);
      counting.catch(() => {});
      await dump.finished;
      rowCounts = await counting;
      phase('upload');
      for (const file of readdirSync(outDir).sort()) {
        await store(dumpObjectName('directory', enc.encrypted, file), createReadStream(join(outDir, file)), compression > 0 && file !== 'toc.dat');
      }
    }
    await client.query('COMMIT');

    phase('globals');
    const roles = await dumpRoles(url);
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
      format: cfg.format,
      objects,
      rowCounts,
      recipients: enc.recipients,
      destinations: alive().map((d) => d.name),
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
        reason: maskSecrets((err as Error).message ?? String(err)),
        details: { id, failedDestinations: [...failed].map(([name, error]) => ({ name, error })) },
      })
      .catch(() => {});
    if (err instanceof ProdguardError) throw err;
    throw new ProdguardError(`backup failed: ${describeError(err)}`, { code: 'backup.failed', cause: err });
  } finally {
    await client.end().catch(() => {});
    if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
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
    .audit({ action: 'backup.create', command: 'backup create', target: opts.env, verdict: 'refused', reason: maskSecrets((err as Error).message ?? String(err)) })
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
