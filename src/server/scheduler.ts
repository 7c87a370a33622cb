/**
 * The scheduler: makes "daily" true. Each job has a cron expression (croner computes the slots,
 * time-zone aware); the last slot a job ran for is kept in the state store, so
 *  - a slot missed while no server ran is caught up once when one starts (several missed slots
 *    fold into one run — three missed daily backups need one backup now, not three);
 *  - a restarted server, or a new leader after a handover, continues where the last one stopped;
 *  - a job never overlaps with itself: a slot that comes while the previous run is still going
 *    is recorded as skipped.
 * The clock is injected: tests move it instead of waiting. `tick()` does one pass; `start()`
 * calls it every second with the real clock.
 */
import { Cron } from 'croner';
import type { Context } from '../context.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { JobRun, JobSpec, Runner } from './job-types.js';
import { recordSkipped, runJob } from './run-job.js';

export interface SchedulerOptions {
  clock?: Clock;
  timezone?: string;
  runner: Runner;
  /** Only the leader runs jobs; without leader election every scheduler is the leader. */
  isLeader?: () => boolean;
  onRun?: (run: JobRun) => void;
  onError?: (err: unknown) => void;
}

const SLOT_KEY = (id: string) => `scheduler.last-slot.${id}`;
/** Bound on slots walked while folding missed ones (an every-second job down for a day). */
const MAX_WALK = 200_000;

export class Scheduler {
  private readonly clock: Clock;
  private readonly crons = new Map<string, Cron>();
  private readonly running = new Map<string, Promise<JobRun>>();
  private readonly startedAt: Date;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;

  constructor(private readonly ctx: Context, readonly jobs: JobSpec[], private readonly opts: SchedulerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.startedAt = this.clock.now();
    for (const j of jobs) this.crons.set(j.id, new Cron(j.cron, { paused: true, timezone: opts.timezone }));
  }

  /** The next slot of a job strictly after `from`. */
  nextSlot(jobId: string, from: Date): Date | null {
    return this.crons.get(jobId)!.nextRun(from);
  }

  isRunning(jobId: string): boolean {
    return this.running.has(jobId);
  }

  /** One pass over every job: start the due ones. Safe to call concurrently (passes are serialised). */
  async tick(): Promise<void> {
    const prev = this.ticking ?? Promise.resolve();
    const mine = prev.then(() => this.pass());
    this.ticking = mine.catch(() => {});
    return mine;
  }

  private async pass(): Promise<void> {
    if (this.opts.isLeader && !this.opts.isLeader()) return;
    const store = await this.ctx.store();
    const now = this.clock.now();
    for (const job of this.jobs) {
      // Read every pass: after a handover the new leader sees the slots the old one ran.
      const stored = await store.getMeta(SLOT_KEY(job.id));
      if (!stored) {
        // First time this job is scheduled anywhere: nothing was missed; start counting now.
        await store.setMeta(SLOT_KEY(job.id), now.toISOString());
        continue;
      }
      const cron = this.crons.get(job.id)!;
      let slot = cron.nextRun(new Date(stored));
      if (!slot || slot > now) continue;
      // Fold every slot up to now into the latest one.
      let folded = 0;
      for (let next = cron.nextRun(slot); next && next <= now && folded < MAX_WALK; next = cron.nextRun(slot)) {
        slot = next;
        folded++;
      }
      await store.setMeta(SLOT_KEY(job.id), slot.toISOString());
      const catchUp = slot < this.startedAt;
      if (this.running.has(job.id)) {
        const skipped = await recordSkipped(this.ctx, job, { slot, runner: this.opts.runner, now: () => this.clock.now() }, `slot ${slot.toISOString()} skipped: the previous run of ${job.id} is still running`);
        this.opts.onRun?.(skipped);
        continue;
      }
      const p = runJob(this.ctx, job, { slot, runner: this.opts.runner, catchUp, missedSlots: catchUp ? folded + 1 : folded, now: () => this.clock.now() });
      this.running.set(job.id, p);
      p.then((run) => this.opts.onRun?.(run), (err) => this.opts.onError?.(err)).finally(() => this.running.delete(job.id));
    }
  }

  /** Waits for every run in progress. */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running.values()]);
  }

  start(intervalMs = 1000): void {
    if (this.timer) return;
    const go = () => void this.tick().catch((err) => this.opts.onError?.(err));
    go();
    this.timer = setInterval(go, intervalMs);
  }

  /** Stops scheduling new runs; waits for the ones in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
    await this.idle();
  }
}
