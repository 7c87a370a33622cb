/**
 * What `serve` (or a scheduled CI workflow through `prodguard jobs run shadow:<env>`) runs for each
 * production environment with a shadow, every 5 minutes: copy the sequence values to the shadow
 * (replication does not carry them), then check replication, lag, the archive and drift — any
 * problem fails the job, and the scheduler's failure notification (`job.failed`) is the alert; drift
 * is also sent as `drift.detected`. The WAL receiver of the shadow is run by serve like any other
 * streaming PITR environment (`shadow enable` turned PITR on for it), and its base backups by the
 * `pitr-base:<shadow>` job.
 */
import type { Context } from '../context.js';
import { RefusedError } from '../errors.js';
import type { JobSpec } from '../server/job-types.js';
import { SHADOW_COLLECTION, type ShadowState } from './state.js';
import { alertShadowProblems, syncShadowSequences } from './alerts.js';
import { shadowStatus } from './status.js';

export const SHADOW_CRON = '*/5 * * * *';

export function shadowJob(env: string, cron = SHADOW_CRON): JobSpec {
  return {
    id: `shadow:${env}`, kind: 'shadow', env, cron,
    async run(ctx, log) {
      const seq = await syncShadowSequences(ctx, env);
      log(`${seq.length} sequence(s) copied to the shadow`);
      const s = await shadowStatus(ctx, env);
      const drift = s.problems.filter((p) => p.startsWith('schema drift'));
      if (drift.length) await alertShadowProblems(ctx, { ...s, problems: drift });
      if (s.problems.length) throw new RefusedError(`shadow of ${env}: ${s.problems.join('; ')}`, 'shadow.unhealthy');
      return `shadow of ${env}: lag ${s.lagSeconds === null ? '?' : `${s.lagSeconds.toFixed(1)} s`}, window ${s.window.earliest ?? '-'} → ${s.window.latest ?? '-'}, ${seq.length} sequence(s) synced`;
    },
  };
}

export async function shadowJobs(ctx: Context): Promise<JobSpec[]> {
  const docs = await (await ctx.store()).list<ShadowState>(SHADOW_COLLECTION);
  return docs.map((d) => d.doc.environment).filter((e) => e in ctx.loaded.config.environments).map((e) => shadowJob(e));
}
