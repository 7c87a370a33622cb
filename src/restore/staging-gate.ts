/**
 * A restore into staging (by name, or a connection string that resolves to staging) copies the
 * backup as it is: production's personal data unmasked, where staging's users connect. The masked
 * path is `staging refresh`; a plain restore into staging is refused unless `--unmasked` says it is
 * meant (audited), and then recorded so status stops claiming staging is masked until the next
 * refresh (status/checks/migrate.ts reads UNMASKED_RESTORES).
 */
import type { Context } from '../context.js';
import type { RestoreTarget } from './target.js';
import { RefusedError } from '../errors.js';
import { currentActor } from '../audit/actor.js';

export const UNMASKED_RESTORES = 'staging-unmasked-restores';

export interface UnmaskedRestoreRecord {
  environment: string;
  sourceEnvironment: string;
  backupId: string;
  database: string;
  actor: string;
  at: string;
}

/** Whether restoring `sourceEnv`'s backup into `target` puts unmasked data into a staging environment. */
export function unmaskedIntoStaging(ctx: Context, target: RestoreTarget, sourceEnv: string): boolean {
  if (target.resolved.kind !== 'staging') return false;
  // A staging environment's own backups are already masked; anything else (production) is not.
  return ctx.loaded.config.environments[sourceEnv]?.kind !== 'staging';
}

/** Refuses an unmasked restore into staging unless --unmasked was given. */
export function stagingRestoreGate(ctx: Context, target: RestoreTarget, sourceEnv: string, unmasked: boolean): boolean {
  if (!unmaskedIntoStaging(ctx, target, sourceEnv)) return false;
  if (unmasked) return true;
  throw new RefusedError(
    `refusing to restore ${sourceEnv}'s backup into ${target.label} (kind staging): it would put ${sourceEnv}'s data there UNMASKED — use \`prodguard staging refresh --env ${target.resolved.name ?? target.label} --yes\` (masked copy), or pass --unmasked to restore it as it is (audited; status then reports staging as unmasked until the next refresh)`,
    'restore.staging-unmasked',
  );
}

export async function recordUnmaskedRestore(ctx: Context, rec: Omit<UnmaskedRestoreRecord, 'actor' | 'at'>): Promise<UnmaskedRestoreRecord> {
  const full: UnmaskedRestoreRecord = { ...rec, actor: currentActor(), at: new Date().toISOString() };
  await (await ctx.store()).put(UNMASKED_RESTORES, `${rec.environment}:${full.at}`, full);
  return full;
}
