/**
 * Running one job once: recorded in the store (collection "job-runs": start, end, result,
 * output), audited, and — when it fails — announced to the webhooks. The scheduler, the CLI
 * (`prodguard jobs run`, what the scheduled CI workflow calls) and the tests all go through here.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import { maskSecrets } from '../security/mask.js';
import { errorMessage } from '../errors.js';
import { JOB_RUNS, type JobRun, type JobSpec, type Runner } from './job-types.js';
import { notify } from './notify.js';

const MAX_OUTPUT_LINES = 200;

export function currentRunner(kind: Runner['kind']): Runner {
  return { kind, host: hostname(), pid: process.pid };
}

export interface RunJobOptions {
  slot: Date;
  runner: Runner;
  catchUp?: boolean;
  missedSlots?: number;
  /** When the run starts (the scheduler's clock). */
  now?: () => Date;
}

export function runId(job: JobSpec, startedAt: Date): string {
  return `${startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${job.id.replace(/[^a-z0-9-]/gi, '-')}-${randomBytes(3).toString('hex')}`;
}

async function record(ctx: Context, run: JobRun): Promise<void> {
  await (await ctx.store()).put(JOB_RUNS, run.id, run);
}

/** Records a slot that was not run because the previous run of the same job is still going. */
export async function recordSkipped(ctx: Context, job: JobSpec, opts: RunJobOptions, reason: string): Promise<JobRun> {
  const at = (opts.now ?? (() => new Date()))();
  const run: JobRun = {
    id: runId(job, at), job: job.id, kind: job.kind, env: job.env ?? null, slot: opts.slot.toISOString(), catchUp: false, missedSlots: 0,
    startedAt: at.toISOString(), finishedAt: at.toISOString(), durationMs: 0, result: 'skipped', summary: reason, output: [], runner: opts.runner,
  };
  await record(ctx, run);
  await ctx.audit({ action: 'serve.job', command: `prodguard serve: ${job.id}`, target: job.env ?? '-', verdict: 'skipped', reason, details: { run: run.id, slot: run.slot } });
  return run;
}

export async function runJob(ctx: Context, job: JobSpec, opts: RunJobOptions): Promise<JobRun> {
  const now = opts.now ?? (() => new Date());
  const started = now();
  const t0 = performance.now();
  const output: string[] = [];
  const log = (line: string) => {
    if (output.length < MAX_OUTPUT_LINES) output.push(maskSecrets(line));
  };
  const run: JobRun = {
    id: runId(job, started), job: job.id, kind: job.kind, env: job.env ?? null, slot: opts.slot.toISOString(),
    catchUp: opts.catchUp ?? false, missedSlots: opts.missedSlots ?? 0, startedAt: started.toISOString(), finishedAt: null, durationMs: null,
    result: 'running', summary: '', output, runner: opts.runner,
  };
  await record(ctx, run);
  try {
    run.summary = maskSecrets(await job.run(ctx, log, opts.runner));
    run.result = 'ok';
  } catch (err) {
    run.summary = maskSecrets(errorMessage(err));
    run.result = 'failed';
  }
  run.finishedAt = now().toISOString();
  run.durationMs = Math.round(performance.now() - t0);
  if (run.result === 'failed') {
    run.notified = await notify(ctx.loaded, {
      event: 'job.failed', project: ctx.loaded.config.project.name, job: job.id, environment: run.env, summary: run.summary, at: run.finishedAt, runId: run.id,
    }, process.env, 10_000, await ctx.store());
  }
  await record(ctx, run);
  await ctx.audit({
    action: 'serve.job',
    command: `prodguard ${opts.runner.kind === 'serve' ? 'serve' : 'jobs run'}: ${job.id}`,
    target: job.env ?? '-',
    verdict: run.result,
    reason: run.summary,
    details: { run: run.id, slot: run.slot, catchUp: run.catchUp, missedSlots: run.missedSlots, durationMs: run.durationMs, runner: `${opts.runner.kind}@${opts.runner.host}` },
  });
  return run;
}

/** Job runs, newest first. */
export async function listJobRuns(ctx: Context, opts: { job?: string; limit?: number } = {}): Promise<JobRun[]> {
  const docs = await (await ctx.store()).list<JobRun>(JOB_RUNS, { where: opts.job ? { job: opts.job } : undefined, limit: opts.limit });
  return docs.map((d) => d.doc);
}
