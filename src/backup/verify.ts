/**
 * `backup verify`: the proof that a backup restores. Checks every stored copy of every object on
 * every destination (sha256 and size), restores one good copy into a throw-away cluster (or a
 * scratch database), and compares each table's row count with the manifest. The result — time,
 * pass/fail, problems — goes into the catalog and into the manifest on the destinations.
 *
 * A missing or wrong decryption key is a usage problem, not a property of the backup: it fails
 * with one line and nothing is written anywhere (no catalog entry, no result, no files).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { createCluster, type Cluster } from '../pg/cluster.js';
import { withClient, quoteIdent } from '../pg/client.js';
import { withDatabase } from '../pg/conninfo.js';
import { runPgTool } from '../pg/run-tool.js';
import { openDestinations, closeDestinations } from './destinations/index.js';
import { requireIdentity } from './encryption.js';
import { describeError } from './fan-out.js';
import { getBackup, putCatalog } from './catalog.js';
import { hashObject, manifestDestinations, materializeBackup, objectProblem } from './materialize.js';
import { restoreDump } from './restore-dump.js';
import { createSupabaseCluster } from '../supabase/scratch-cluster.js';
import { isSupabaseDump, restoreSupabaseDump } from '../supabase/restore.js';
import { countRows, compareRowCounts } from './row-counts.js';
import { writeManifestEverywhere } from './create.js';
import { backupFolder, type BackupManifest } from './manifest.js';

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
  } catch (err) {
    await auditKeyProblem(ctx, m, err);
    throw err;
  }
  const started = Date.now();
  const problems: string[] = [];
  const work = mkdtempSync(join(tmpdir(), 'prodguard-verify-'));
  let cluster: Cluster | null = null;
  let scratchDb: string | null = null;
  let supabase = false;
  try {
    opts.onPhase?.('checksums');
    problems.push(...(await checkCopies(ctx, m)));
    opts.onPhase?.('download');
    let mat: Awaited<ReturnType<typeof materializeBackup>> | null = null;
    try {
      mat = await materializeBackup(ctx, m.id, work);
    } catch (err) {
      if (err instanceof UsageError) {
        await auditKeyProblem(ctx, m, err);
        throw err;
      }
      problems.push(describeError(err));
    }
    if (mat) {
      opts.onPhase?.('restore');
      let target: string;
      if (opts.scratchUrl) {
        scratchDb = `prodguard_verify_${m.id.toLowerCase().replace(/[^a-z0-9]/g, '_')}`;
        await withClient(opts.scratchUrl, async (c) => {
          await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratchDb!)}`);
          await c.query(`CREATE DATABASE ${quoteIdent(scratchDb!)} TEMPLATE template0`);
        });
        target = withDatabase(opts.scratchUrl, scratchDb);
      } else {
        supabase = await isSupabaseDump(mat.dumpPath); // Supabase hook (src/supabase): Supabase-like scratch cluster
        cluster = supabase ? await createSupabaseCluster({ name: 'prodguard-verify' }) : await createCluster({ name: 'prodguard-verify' });
        if (m.database !== 'postgres') await withClient(cluster.url(), (c) => c.query(`CREATE DATABASE ${quoteIdent(m.database)} TEMPLATE template0`));
        target = supabase ? cluster.url(m.database, 'supabase_admin') : cluster.url(m.database);
        // Roles first, so ownership-free GRANTs in the dump find their roles.
        if (mat.globalsPath) await runPgTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=0', '-f', mat.globalsPath, `--dbname=${cluster.url()}`], { allowFailure: true });
      }
      try {
        if (supabase && cluster) await restoreSupabaseDump(mat.dumpPath, cluster, m.database, { jobs: ctx.loaded.config.backup.jobs, workDir: work });
        else await restoreDump(mat.dumpPath, target, { jobs: ctx.loaded.config.backup.jobs, noAcl: !!opts.scratchUrl || !mat.globalsPath });
        opts.onPhase?.('row counts');
        problems.push(...compareRowCounts(m.rowCounts, await countRows(target)));
      } catch (err) {
        problems.push(describeError(err));
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    if (cluster) await cluster.destroy().catch(() => {});
    if (scratchDb && opts.scratchUrl) {
      await withClient(opts.scratchUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratchDb!)}`)).catch(() => {});
    }
  }
  const result: VerifyResult = { ok: problems.length === 0, backupId: m.id, durationMs: Date.now() - started, problems };
  await recordVerification(ctx, m, result);
  return result;
}

/** A key problem says nothing about the backup: audited as refused, no result recorded. */
async function auditKeyProblem(ctx: Context, m: BackupManifest, err: unknown): Promise<void> {
  await ctx
    .audit({ action: 'backup.verify', command: 'backup verify', target: m.environment, verdict: 'refused', reason: (err as Error).message, details: { id: m.id } })
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
