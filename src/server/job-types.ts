/** The shared shapes of the server: scheduled jobs and the record each run leaves behind. */
import type { Context } from '../context.js';

export interface JobSpec {
  /** Stable id, e.g. "backup:production" — the scheduler's key for "last slot" and overlap. */
  id: string;
  /** Kind of work: backup, verify, drill, prune, drift, pitr-base. */
  kind: string;
  /** Environment the job is about, if any. */
  env?: string;
  /** Cron expression (5 or 6 fields). */
  cron: string;
  /** Does the work; returns a one-line summary, throws on failure. `log` collects output lines. */
  run(ctx: Context, log: (line: string) => void, runner: Runner): Promise<string>;
}

export type RunResult = 'running' | 'ok' | 'failed' | 'skipped';

/** Who runs the schedule: this `serve` process, a scheduled CI workflow, or a person at the CLI. */
export interface Runner {
  kind: 'serve' | 'ci' | 'cli';
  host: string;
  pid: number;
}

export interface JobRun {
  id: string;
  job: string;
  kind: string;
  env: string | null;
  /** The cron slot this run belongs to (ISO). */
  slot: string;
  /** true when the slot was missed while no scheduler ran and is caught up now. */
  catchUp: boolean;
  /** Slots folded into this one catch-up run (missed while down). */
  missedSlots: number;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  result: RunResult;
  summary: string;
  /** Output lines (masked, capped). */
  output: string[];
  runner: Runner;
  notified?: Array<{ webhook: string; ok: boolean; error?: string }>;
}

export const JOB_RUNS = 'job-runs';
