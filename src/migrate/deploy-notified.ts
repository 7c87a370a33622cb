/**
 * A production deploy as `migrate deploy` runs it: started, failed and finished are notified
 * around the deploy itself (src/migrate/deploy.ts), so a team hears of every deploy attempt.
 */
import type { Context } from '../context.js';
import { deploy, type DeployOptions } from './deploy.js';
import { notifyEvent } from '../notify/send.js';
import { RefusedError, errorMessage } from '../errors.js';

export type DeployResult = Awaited<ReturnType<typeof deploy>>;

export async function deployNotified(ctx: Context, env: string, opts: DeployOptions = {}): Promise<DeployResult> {
  await notifyEvent(ctx, { event: 'deploy.started', environment: env, summary: `deploy to ${env} started` });
  let r: DeployResult;
  try {
    r = await deploy(ctx, env, opts);
  } catch (err) {
    await notifyEvent(ctx, { event: 'deploy.failed', environment: env, summary: `deploy to ${env} failed: ${errorMessage(err)}` });
    throw err;
  }
  const verified = !r.verification || r.verification.ok;
  await notifyEvent(ctx, {
    event: verified ? 'deploy.finished' : 'deploy.failed',
    environment: env,
    summary: r.applied.length ? `deployed ${r.applied.map((a) => a.file).join(', ')}${verified ? '' : ' but post-deploy verification failed'} (pre-migration backup ${r.backupId})` : 'nothing pending',
    details: { backupId: r.backupId },
  });
  return r;
}

/** Deployed but not verified: exit 1, naming the pre-migration backup to roll back to. */
export function verificationFailedError(r: DeployResult): RefusedError | null {
  if (!r.verification || r.verification.ok) return null;
  return new RefusedError(`deployed, but post-deploy verification failed (${r.verification.lines.length} problem(s)); pre-migration backup ${r.backupId}`, 'migrate.verify-failed');
}
