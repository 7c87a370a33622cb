/**
 * A notification that could not be delivered after every retry is itself a fact worth keeping:
 * it is stored here and shown by `prodguard status` (rule 6), so an alarm is never lost silently.
 */
import type { StateStore } from '../store/store.js';

export const NOTIFY_FAILURES = 'notify-failures';

export interface NotifyFailure {
  id: string;
  channel: string;
  event: string;
  environment: string | null;
  summary: string;
  attempts: number;
  error: string;
  at: string;
}

export async function recordNotifyFailure(store: StateStore, f: NotifyFailure): Promise<void> {
  await store.put(NOTIFY_FAILURES, f.id, f);
}

/** Failures newest first, optionally only those since `since`. */
export async function listNotifyFailures(store: StateStore, opts: { since?: Date; limit?: number } = {}): Promise<NotifyFailure[]> {
  const all = (await store.list<NotifyFailure>(NOTIFY_FAILURES, { limit: opts.limit })).map((d) => d.doc);
  return opts.since ? all.filter((f) => Date.parse(f.at) >= opts.since!.getTime()) : all;
}
