/**
 * `prodguard drill`: proves the newest backup restores. Restores it into a throw-away cluster,
 * compares row counts with the manifest, runs the configured smoke tests, and records RTO (the wall
 * time of fetch + restore + verification) and RPO (how old the restored data is: now − the backup's
 * snapshot time) in the store. A failed drill is recorded too, and fails the command.
 */
import type { Context } from '../context.js';
import { createCluster, type Cluster } from '../pg/cluster.js';
import { createSupabaseCluster } from '../supabase/scratch-cluster.js';
import { isSupabaseDump, restoreSupabaseDump } from '../supabase/restore.js';
import { withClient, quoteIdent } from '../pg/client.js';
import { RefusedError, errorMessage } from '../errors.js';
import { DRILLS_COLLECTION, type DrillRecord } from './drill-record.js';
import { runSmokeTests } from './smoke.js';
import { openPrivateDir } from '../backup/private-dir.js';
import { backupJobs } from '../backup/jobs.js';
import { applyDatabaseProperties, ensureRoles, loadDatabaseProperties } from './roles.js';
import { compareRowCounts, countRowsParallel } from './verify-counts.js';
import { defaultSourceEnv } from './restore.js';

export interface DrillOptions {
  environment?: string;
  backup?: string;
  jobs?: number;
  onProgress?: (line: string) => void;
}

export async function runDrill(ctx: Context, opts: DrillOptions = {}): Promise<DrillRecord> {
  const environment = opts.environment ?? defaultSourceEnv(ctx);
  const progress = opts.onProgress ?? (() => {});
  const startedAt = new Date();
  const id = `drill-${startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${process.pid}`;
  const record: DrillRecord = {
    id, environment, backupId: null, startedAt: startedAt.toISOString(), finishedAt: '', ok: false, rtoMs: 0, rpoMs: null,
    tablesChecked: 0, rowCountMismatches: [], smoke: [],
  };
  let cluster: Cluster | undefined;
  const workDir = openPrivateDir('prodguard-drill-');
  const work = workDir.path;
  try {
    const backup = await import('./backup-api.js');
    const entry = await backup.getBackup(ctx, opts.backup ?? 'latest', { env: environment });
    const manifest = entry;
    record.backupId = manifest.id;
    progress(`drill: restoring backup ${manifest.id} of ${environment} into a throw-away cluster`);
    const t0 = Date.now();
    const m = await backup.materializeBackup(ctx, manifest.id, work, { env: environment });
    const supabase = await isSupabaseDump(m.dumpPath); // Supabase hook (src/supabase): Supabase-like scratch cluster
    cluster = supabase ? await createSupabaseCluster({ name: 'prodguard-drill', private: true }) : await createCluster({ name: 'prodguard-drill', private: true });
    const dbName = manifest.database || 'restored';
    if (dbName !== 'postgres') await withClient(cluster.url(), (c) => c.query(`CREATE DATABASE ${quoteIdent(dbName)}`));
    // On a Supabase-like scratch the superuser restores; `postgres` there is not superuser.
    const url = supabase ? cluster.url(dbName, 'supabase_admin') : cluster.url(dbName);
    const serverUrl = supabase ? cluster.url('postgres', 'supabase_admin') : cluster.url();
    const jobs = opts.jobs ?? backupJobs(ctx.loaded.config.backup.jobs);
    // Roles the dump's policies and grants name, then the dump with its ACLs, then database settings.
    const props = loadDatabaseProperties(m);
    const ensured = await ensureRoles(serverUrl, props);
    if (supabase) await restoreSupabaseDump(m.dumpPath, cluster, dbName, { jobs, workDir: work });
    else await backup.restoreDump(m.dumpPath, url, { jobs });
    const warnings = [...ensured.warnings, ...(await applyDatabaseProperties(serverUrl, dbName, props))];
    if (warnings.length) record.warnings = warnings;
    const actual = await countRowsParallel(url, jobs);
    record.rowCountMismatches = compareRowCounts(m.manifest.rowCounts, actual);
    record.tablesChecked = Object.keys(m.manifest.rowCounts).length;
    record.smoke = await runSmokeTests(url, ctx.loaded.config.drills.smokeTests);
    record.rtoMs = Date.now() - t0;
    record.rpoMs = Date.now() - Date.parse(manifest.startedAt);
    record.ok = record.rowCountMismatches.length === 0 && record.smoke.every((s) => s.ok);
    if (!record.ok) {
      const failed = record.smoke.filter((s) => !s.ok).map((s) => `smoke test "${s.name}" (${s.error ?? `got ${s.value}, expected ${s.expected}`})`);
      const counts = record.rowCountMismatches.map((x) => `${x.table}: ${x.actual ?? 'missing'} rows, manifest ${x.expected}`);
      record.error = [...counts, ...failed].join('; ');
    }
  } catch (err) {
    record.ok = false;
    record.error = errorMessage(err);
  } finally {
    await cluster?.destroy();
    workDir.dispose();
  }
  record.finishedAt = new Date().toISOString();
  await (await ctx.store()).put(DRILLS_COLLECTION, record.id, record);
  await ctx.audit({
    action: 'restore.drill',
    command: `prodguard drill --env ${environment}`,
    target: environment,
    verdict: record.ok ? 'ok' : 'failed',
    reason: record.ok ? `backup ${record.backupId} restored and verified: RTO ${(record.rtoMs / 1000).toFixed(1)} s, RPO ${Math.round((record.rpoMs ?? 0) / 1000)} s` : `drill failed: ${record.error}`,
    details: { drill: record.id, backupId: record.backupId, rtoMs: record.rtoMs, rpoMs: record.rpoMs },
  });
  return record;
}

/** Throws (exit 1) for a failed drill, after it was recorded. */
export function assertDrillOk(r: DrillRecord): void {
  if (!r.ok) throw new RefusedError(`restore drill failed: ${r.error}`, 'drill.failed');
}
