/**
 * A backup as a command takes it: a failure or a degraded result (a destination missed) is
 * notified, and a degraded backup is a refusal after its result is shown (docs/backup.md).
 */
import type { Context } from '../context.js';
import { createBackup, type CreateBackupOptions, type CreateBackupResult } from './create.js';
import { notifyEvent } from '../notify/send.js';
import { RefusedError, errorMessage } from '../errors.js';

export async function createBackupNotified(ctx: Context, opts: CreateBackupOptions): Promise<CreateBackupResult> {
  let res: CreateBackupResult;
  try {
    res = await createBackup(ctx, opts);
  } catch (err) {
    await notifyEvent(ctx, { event: 'backup.failed', environment: opts.env, summary: `backup of ${opts.env} failed: ${errorMessage(err)}` });
    throw err;
  }
  if (res.degraded) {
    const m = res.manifest;
    await notifyEvent(ctx, { event: 'backup.degraded', environment: opts.env, summary: `backup ${m.id} is degraded: ${res.failedDestinations.map((f) => f.name).join(', ')} failed`, details: { backupId: m.id } });
  }
  return res;
}

/** The refusal for a degraded backup (exit 1): which destinations failed and why. */
export function degradedBackupError(res: CreateBackupResult): RefusedError {
  return new RefusedError(`backup ${res.manifest.id} is DEGRADED: destination(s) failed: ${res.failedDestinations.map((f) => `${f.name} (${f.error})`).join('; ')}`, 'backup.degraded');
}
