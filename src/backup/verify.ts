/**
 * `backup verify`: the proof that a backup restores. Checks every stored copy of every object on
 * every destination (sha256 and size), restores one good copy into a throw-away cluster (or a
 * scratch database), and compares each table's row count with the manifest. The result — time,
 * pass/fail, problems — goes into the catalog and into the manifest on the destinations.
 *
 * A missing or wrong decryption key is a usage problem, not a property of the backup: it fails
 * with one line and nothing is written anywhere (no catalog entry, no result, no files).
 */
import type { Context } from '../context.js';
import { UsageError, errorMessage } from '../errors.js';
import { createCluster, type Cluster } from '../pg/cluster.js';
import { withClient, quoteIdent } from '../pg/client.js';
import { withDatabase } from '../pg/conninfo.js';
import { applyDatabaseProperties, dropRoles, ensureRoles, loadDatabaseProperties, parseDatabaseProperties } from '../restore/roles.js';
import { openBackupStream, type BackupStream } from './stream-restore.js';
import { openDestinations, closeDestinations } from './destinations/index.js';
import { requireIdentity } from './encryption.js';
import { describeError } from './fan-out.js';
import { getBackup, putCatalog } from './catalog.js';
import { checkBackupIdentity, hashObject, manifestDestinations, materializeBackup, objectProblem } from './materialize.js';
import { restoreDump } from './restore-dump.js';
import { openPrivateDir } from './private-dir.js';
import { markOwner } from '../migrate/refresh-leftovers.js';
import { backupJobs } from './jobs.js';
import { createSupabaseCluster } from '../supabase/scratch-cluster.js';
import { isSupabaseDump, restoreSupabaseDump } from '../supabase/restore.js';
import { countRows, compareRowCounts } from './row-counts.js';
import { writeManifestEverywhere } from './create.js';
import { MANIFEST_NAME, backupFolder, type BackupManifest } from './manifest.js';

export interface VerifyResult {
  ok: boolean;
  backupId: string;
  durationMs: number;
  problems: string[];
}

export interface VerifyOptions {
  env?: string;
  /** Restore into a fresh database on this server instead of a throw-away cluster. */
  scratchUrl?: string;
  onPhase?: (phase: string) => void;
}

/** Checks every copy of every object on every destination the manifest names. */
export async function checkCopies(ctx: Context, m: BackupManifest): Promise<string[]> {
  const problems: string[] = [];
  const all = openDestinations(ctx.loaded);
  try {
    for (const n of m.destinations) if (!all.some((d) => d.name === n)) problems.push(`destination ${n}: no longer configured`);
    const folder = backupFolder(m.environment, m.id);
    await Promise.all(
      manifestDestinations(all, m).map(async (d) => {
        // A destination named by the manifest that no longer holds it is damaged, not forgotten.
        try {
          if (!(await d.exists(`${folder}/${MANIFEST_NAME}`))) problems.push(`destination ${d.name}: ${MANIFEST_NAME} is missing (the backup there is incomplete or was removed)`);
        } catch (err) {
          problems.push(`destination ${d.name}: ${MANIFEST_NAME} unreadable (${describeError(err)})`);
        }
        for (const o of m.objects) {
          try {
            const p = objectProblem(d.name, o, await hashObject(d, `${folder}/${o.name}`));
            if (p) problems.push(p);
          } catch (err) {
            problems.push(`destination ${d.name}: object ${o.name} unreadable (${describeError(err)})`);
          }
        }
      }),
    );
  } finally {
    await closeDestinations(all);
  }
  return problems.sort();
}

export async function verifyBackup(ctx: Context, idOrLatest: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const m = await getBackup(ctx, idOrLatest, { env: opts.env });
  try {
    if (m.objects.some((o) => o.encrypted)) requireIdentity(ctx.loaded);
    // Wrong key? Known from one object's header, before every copy is downloaded and hashed.
    await checkBackupIdentity(ctx, m);
  } catch (err) {
    if (err instanceof UsageError) {
      await auditKeyProblem(ctx, m, err);
      throw err;
    }
    // Anything else is a property of the copies: the checks below find and name it.
  }
  const started = Date.now();
  const problems: string[] = [];
  const workDir = openPrivateDir('prodguard-verify-');
  const work = workDir.path;
  let cluster = null as Cluster | null; // assigned inside restoreAndCount()
  let scratchDb: string | null = null;
  let supabase = false;
  let serverUrl = '';
  let createdRoles: string[] = [];
  let stream = null as BackupStream | null;
  try {
    opts.onPhase?.('checksums');
    problems.push(...(await checkCopies(ctx, m)));
    opts.onPhase?.('download');
    let mat: Awaited<ReturnType<typeof materializeBackup>> | null = null;
    const fetchFailed = async (err: unknown) => {
      if (err instanceof UsageError) {
        await auditKeyProblem(ctx, m, err);
        throw err;
      }
      problems.push(describeError(err));
    };
    // Directory format: streamed from the decrypting reader into pg_restore, as restore does —
    // no decrypted table data on disk (red team w5data: every verify wrote the whole plaintext dump
    // to the temp dir). Custom format and Supabase dumps (restored from files) are downloaded.
    let streamTried = false;
    if (m.format === 'directory') {
      streamTried = true;
      try {
        stream = await openBackupStream(ctx, m.id, work, { env: m.environment });
        if (stream.tocDir && (await isSupabaseDump(stream.tocDir))) {
          await stream.close();
          stream = null;
          streamTried = false;
        }
      } catch (err) {
        await stream?.close().catch(() => {});
        stream = null;
        await fetchFailed(err);
      }
    }
    if (!stream && !streamTried) {
      try {
        mat = await materializeBackup(ctx, m.id, work);
      } catch (err) {
        await fetchFailed(err);
      }
    }
    // Anything failing from here on (the throw-away cluster not starting on a loaded host, a
    // scratch server refusing) is a problem of this run, reported beside the copies' problems:
    // verify always returns its result, never an exit without one.
    if (mat || stream) {
      try {
        await restoreAndCount();
      } catch (err) {
        problems.push(`restore check: ${describeError(err)}`);
      }
    }
    async function restoreAndCount(): Promise<void> {
      if (!mat && !stream) return;
      opts.onPhase?.('restore');
      let target: string;
      if (opts.scratchUrl) {
        scratchDb = `prodguard_verify_${m.id.toLowerCase().replace(/[^a-z0-9]/g, '_')}`;
        await withClient(opts.scratchUrl, async (c) => {
          await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratchDb!)}`);
          await c.query(`CREATE DATABASE ${quoteIdent(scratchDb!)} TEMPLATE template0`);
          // It will hold production's rows: nobody else connects, and a killed verify's copy is
          // recognised (status, backup list --leftovers) and dropped by backup prune.
          await c.query(`REVOKE ALL ON DATABASE ${quoteIdent(scratchDb!)} FROM PUBLIC`);
          await markOwner(c, scratchDb!, 'backup verify');
        });
        target = withDatabase(opts.scratchUrl, scratchDb);
        serverUrl = opts.scratchUrl;
      } else {
        supabase = mat ? await isSupabaseDump(mat.dumpPath) : false; // Supabase hook (src/supabase): Supabase-like scratch cluster (streams are never Supabase dumps, see above)
        cluster = await throwAwayCluster(() => (supabase ? createSupabaseCluster({ name: 'prodguard-verify', private: true }) : createCluster({ name: 'prodguard-verify', private: true })));
        if (m.database !== 'postgres') await withClient(cluster.url(), (c) => c.query(`CREATE DATABASE ${quoteIdent(m.database)} TEMPLATE template0`));
        // On a Supabase-like scratch the superuser restores; `postgres` there is not superuser.
        target = supabase ? cluster.url(m.database, 'supabase_admin') : cluster.url(m.database);
        serverUrl = supabase ? cluster.url('postgres', 'supabase_admin') : cluster.url();
      }
      try {
        // Roles the dump names (created NOLOGIN, removed again from a scratch server afterwards), then the dump with its ACLs.
        const props = mat ? loadDatabaseProperties(mat) : parseDatabaseProperties({ properties: stream!.propertiesText, globals: stream!.globalsText });
        const ensured = await ensureRoles(serverUrl, props);
        createdRoles = ensured.created;
        if (supabase && cluster && mat) await restoreSupabaseDump(mat.dumpPath, cluster, m.database, { jobs: backupJobs(ctx.loaded.config.backup.jobs), workDir: work });
        else if (stream) await stream.restore(target, { jobs: backupJobs(ctx.loaded.config.backup.jobs) });
        else await restoreDump(mat!.dumpPath, target, { jobs: backupJobs(ctx.loaded.config.backup.jobs) });
        const warnings = [...ensured.warnings, ...(await applyDatabaseProperties(serverUrl, opts.scratchUrl ? scratchDb! : m.database, props))];
        problems.push(...warnings.map((w) => `database properties: ${w}`));
        opts.onPhase?.('row counts');
        problems.push(...compareRowCounts(m.rowCounts, await countRows(target)));
      } catch (err) {
        problems.push(describeError(err));
      }
    }
  } finally {
    await stream?.close().catch(() => {});
    workDir.dispose();
    if (cluster) await cluster.destroy().catch(() => {});
    if (scratchDb && opts.scratchUrl) {
      await withClient(opts.scratchUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratchDb!)}`)).catch(() => {});
      await dropRoles(opts.scratchUrl, createdRoles).catch(() => {});
    }
  }
  const result: VerifyResult = { ok: problems.length === 0, backupId: m.id, durationMs: Date.now() - started, problems };
  await recordVerification(ctx, m, result);
  return result;
}

/**
 * The throw-away cluster, with two more tries when it does not start: on a busy host the free
 * port it was given can be taken by another process before PostgreSQL binds it.
 */
async function throwAwayCluster(create: () => Promise<Cluster>): Promise<Cluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (err) {
      if (attempt >= 3 || (err as { code?: string }).code !== 'pg.start') throw err;
    }
  }
}

/** A key problem says nothing about the backup: audited as refused, no result recorded. */
async function auditKeyProblem(ctx: Context, m: BackupManifest, err: unknown): Promise<void> {
  await ctx
    .audit({ action: 'backup.verify', command: 'backup verify', target: m.environment, verdict: 'refused', reason: errorMessage(err), details: { id: m.id } })
    .catch(() => {});
}

/** Stores the result in the catalog and in the manifest on every destination holding it. */
async function recordVerification(ctx: Context, m: BackupManifest, r: VerifyResult): Promise<void> {
  const updated: BackupManifest = { ...m, verified: { at: new Date().toISOString(), ok: r.ok, durationMs: r.durationMs, problems: r.problems } };
  await putCatalog(ctx, updated);
  const all = openDestinations(ctx.loaded);
  try {
    // Only rewrite manifests that exist: never resurrect a backup that was pruned meanwhile.
    const holders = [];
    for (const d of manifestDestinations(all, m)) {
      if (await d.exists(`${backupFolder(m.environment, m.id)}/manifest.json`).catch(() => false)) holders.push(d);
    }
    await writeManifestEverywhere(holders, updated, new Map());
  } finally {
    await closeDestinations(all);
  }
  await ctx.audit({
    action: 'backup.verify',
    command: 'backup verify',
    target: m.environment,
    verdict: r.ok ? 'ok' : 'failed',
    reason: r.ok ? `restored and row counts match (${Object.keys(m.rowCounts).length} tables)` : r.problems.slice(0, 3).join('; '),
    details: { id: m.id, durationMs: r.durationMs, problems: r.problems },
  });
}
