/**
 * The scheduler's notification hook: a failed (or recovered) job becomes a `job.failed` /
 * `job.recovered` event sent through the notifications layer (src/notify: retries, Slack format,
 * failure records). A webhook that fails is reported back to the caller (and recorded on the job
 * run) but never stops the scheduler.
 */
import type { LoadedConfig } from '../config/load.js';
import type { StateStore } from '../store/store.js';
import { sendNotification } from '../notify/send.js';

export interface NotifyEvent {
  event: 'job.failed' | 'job.recovered';
  project: string;
  job: string;
  environment: string | null;
  summary: string;
  at: string;
  runId: string;
}

export interface NotifyOutcome {
  webhook: string;
  ok: boolean;
  error?: string;
}

export async function notify(loaded: LoadedConfig, ev: NotifyEvent, env: Record<string, string | undefined> = process.env, timeoutMs = 10_000, store?: StateStore): Promise<NotifyOutcome[]> {
  const out = await sendNotification(loaded, {
    event: ev.event, project: ev.project, environment: ev.environment, summary: ev.summary, at: ev.at, details: { job: ev.job, runId: ev.runId },
  }, { env, timeoutMs, store });
  return out.map((o) => (o.ok ? { webhook: o.webhook, ok: true } : { webhook: o.webhook, ok: false, error: o.error }));
}
