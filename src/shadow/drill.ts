/**
 * `prodguard shadow drill --env production`: the restore drill of a hosted production protected by a
 * shadow. "Production is gone now": the real RPO is the shadow's lag at this moment (what production
 * committed that the shadow's archive does not hold), the RTO is a full `shadow restore` of
 * everything the archive holds into a throw-away cluster (Supabase-like when production is
 * Supabase), row counts compared. Recorded with the other drills (rule 6 counts it).
 */
import { randomUUID } from 'node:crypto';
import type { Context } from '../context.js';
import { connectionUrl } from '../config/connection.js';
import { createCluster, type Cluster } from '../pg/cluster.js';
import { errorMessage } from '../errors.js';
import { requireShadowState } from './state.js';
import { shadowStatus } from './status.js';
import { shadowRestore, type ShadowRestoreResult } from './restore.js';
import { isSupabaseDatabase } from '../supabase/restore.js';
import { DRILLS_COLLECTION } from '../restore/drill-record.js';
import { createSupabaseCluster } from '../supabase/scratch-cluster.js';

export interface ShadowDrillResult {
  id: string;
  environment: string;
  ok: boolean;
  /** Lag of the shadow at the drill's "disaster" moment, ms (null when unknown). */
  rpoMs: number | null;
  rtoMs: number;
  lastRestoredCommit: string | null;
  tablesChecked: number;
  error?: string;
}

export async function shadowDrill(ctx: Context, envName: string, opts: { env?: Record<string, string | undefined>; onProgress?: (line: string) => void } = {}): Promise<ShadowDrillResult> {
  const env = opts.env ?? process.env;
  const started = new Date();
  const id = `shadow-drill-${started.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomUUID().slice(0, 8)}`;
  await requireShadowState(ctx, envName);
  const status = await shadowStatus(ctx, envName, { env, drift: false });
  const rpoMs = status.lagSeconds === null ? null : Math.round(status.lagSeconds * 1000);
  let cluster: Cluster | undefined;
  let restored: ShadowRestoreResult | undefined;
  let error: string | undefined;
  const t0 = Date.now();
  try {
    const supabase = await isSupabaseDatabase(connectionUrl(ctx.loaded, envName, env)).catch(() => false);
    cluster = supabase ? await createSupabaseCluster({ name: 'prodguard-shadow-drill' }) : await createCluster({ name: 'prodguard-shadow-drill' });
    restored = await shadowRestore(ctx, { environment: envName, time: new Date().toISOString().replace('T', ' ').replace('Z', '+00'), to: cluster.url(), toEnd: true, env, onProgress: opts.onProgress });
  } catch (err) {
    error = errorMessage(err);
  } finally {
    await cluster?.destroy();
  }
  const rtoMs = Date.now() - t0;
  const result: ShadowDrillResult = { id, environment: envName, ok: !error, rpoMs, rtoMs, lastRestoredCommit: restored?.lastRestoredCommit ?? null, tablesChecked: restored?.counts.length ?? 0, ...(error ? { error } : {}) };
  const record: import('../restore/drill-record.js').DrillRecord = {
    id, environment: envName, backupId: restored ? `shadow:${restored.baseBackup}` : null, startedAt: started.toISOString(), finishedAt: new Date().toISOString(),
    ok: result.ok, rtoMs, rpoMs, tablesChecked: result.tablesChecked, rowCountMismatches: [], smoke: [], ...(error ? { error } : {}),
  };
  await (await ctx.store()).put(DRILLS_COLLECTION, id, record);
  await ctx.audit({ action: 'shadow.drill', command: `prodguard shadow drill --env ${envName}`, target: envName, verdict: result.ok ? 'ok' : 'failed', reason: result.ok ? `RTO ${(rtoMs / 1000).toFixed(1)} s, RPO ${rpoMs === null ? '?' : `${(rpoMs / 1000).toFixed(1)} s`} (lag at the drill), ${result.tablesChecked} table(s) restored and counted` : `drill failed: ${error}` });
  return result;
}
