/**
 * Replication breaking or the schemas drifting apart is an alert, not silence: `shadow status
 * --notify` (what serve's schedule or a scheduled CI job runs) sends each problem through the
 * notify layer — drift as `drift.detected`, anything else as `job.failed` — and audits it.
 */
import type { Context } from '../context.js';
import type { ShadowStatus } from './status.js';
import { notifyEvent } from '../notify/send.js';
import { requireShadowState, writeShadowState } from './state.js';
import { connectionUrl } from '../config/connection.js';
import { syncSequences } from './sequences.js';

export async function alertShadowProblems(ctx: Context, s: ShadowStatus): Promise<number> {
  if (s.problems.length === 0) return 0;
  const drift = s.problems.filter((p) => p.startsWith('schema drift'));
  const other = s.problems.filter((p) => !p.startsWith('schema drift'));
  if (drift.length) await notifyEvent(ctx, { event: 'drift.detected', environment: s.environment, summary: `shadow of ${s.environment}: ${drift.join('; ')}` });
  if (other.length) await notifyEvent(ctx, { event: 'job.failed', environment: s.environment, summary: `shadow PITR of ${s.environment} is not healthy: ${other.join('; ')}` });
  await ctx.audit({ action: 'shadow.alert', command: `prodguard shadow status --env ${s.environment} --notify`, target: s.environment, verdict: 'failed', reason: s.problems.join('; ') });
  return s.problems.length;
}

/** `shadow sync-sequences`: production's sequence values copied to the shadow, time recorded. */
export async function syncShadowSequences(ctx: Context, envName: string, env: Record<string, string | undefined> = process.env) {
  const s = await requireShadowState(ctx, envName);
  const values = await syncSequences(connectionUrl(ctx.loaded, envName, env), connectionUrl(ctx.loaded, s.shadowEnv, env), s.schemas);
  await writeShadowState(ctx, { ...s, sequencesSyncedAt: new Date().toISOString() });
  await ctx.audit({ action: 'shadow.sync-sequences', command: `prodguard shadow sync-sequences --env ${envName}`, target: envName, verdict: 'ok', reason: `${values.length} sequence(s) copied to ${s.shadowEnv}` });
  return values;
}
