/**
 * The events prodguard tells people about. One list, so channels, docs and tests agree on names.
 * A notification carries a one-line summary a person reads on a phone at 3 a.m., never a secret
 * (everything is masked before it leaves the process).
 */
export const NOTIFY_EVENTS = {
  'guard.blocked': 'a command was blocked by the guard',
  'backup.failed': 'a backup failed',
  'backup.degraded': 'a backup reached only some destinations',
  'verify.failed': 'a backup verification failed',
  'drill.failed': 'a restore drill failed',
  'drift.detected': 'schema drift detected',
  'deploy.started': 'a deploy started',
  'deploy.finished': 'a deploy finished',
  'deploy.failed': 'a deploy failed',
  'break-glass.opened': 'break-glass opened',
  'break-glass.closed': 'break-glass closed',
  'audit.broken': 'the audit chain is broken',
  'job.failed': 'a scheduled job failed',
  'job.recovered': 'a scheduled job recovered',
  'notify.test': 'a test message',
} as const;

export type NotifyEventName = keyof typeof NOTIFY_EVENTS;

export interface NotifyEvent {
  event: NotifyEventName;
  project: string;
  environment: string | null;
  summary: string;
  at: string;
  /** Event-specific fields (grant id, backup id, job run id …). */
  details?: Record<string, unknown>;
}

/** Events that mean something is wrong (a red light in chat), as opposed to information. */
export function isAlarm(ev: NotifyEventName): boolean {
  return ['guard.blocked', 'backup.failed', 'backup.degraded', 'verify.failed', 'drill.failed', 'drift.detected', 'deploy.failed', 'break-glass.opened', 'audit.broken', 'job.failed'].includes(ev);
}
