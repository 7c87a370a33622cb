/**
 * `migrate apply --env <staging>`: applies the pending migrations to a staging environment and
 * records, per migration file and content hash, that it passed there, with staging's schema
 * fingerprint afterwards. Production is refused here (it only gets `migrate deploy`).
 */
import type { Context } from '../context.js';
import { connectionUrl } from '../config/connection.js';
import { currentActor } from '../audit/actor.js';
import { RefusedError, errorMessage } from '../errors.js';
import { envState, requireEnv } from './change.js';
import { historyTarget } from './history.js';
import { applyMigrations, MigrationFailedError, type AppliedResult } from './apply.js';
import { assertNotProduction } from './safety.js';
import { checkReachedEnvironment } from '../policy/environment-identity.js';
import { schemaSnapshot } from './snapshot.js';
import { STAGING_PASSES, type StagingPass } from './records.js';
import { acquireMigrationLock } from './deploy-lock.js';
import { MigrationRefusedError } from './runnable.js';

export interface StagingApplyResult {
  environment: string;
  changeHash: string;
  applied: AppliedResult[];
  schemaFingerprint: string | null;
}

export interface StagingApplyOptions {
  onMigration?: (file: string) => void;
  /** Refuse at once when another migration run holds the environment's lock (default: wait). */
  noWait?: boolean;
  onWait?: (message: string) => void;
}

export async function applyToStaging(ctx: Context, env: string, opts: StagingApplyOptions = {}): Promise<StagingApplyResult> {
  const { loaded } = ctx;
  requireEnv(loaded, env);
  const kind = loaded.config.environments[env].kind;
  const command = `prodguard migrate apply --env ${env}`;
  if (kind === 'production') {
    await ctx.audit({ action: 'migrate.apply', command, target: env, verdict: 'refused', reason: 'production only gets migrate deploy (CI, approvals, backup, verification)' });
    throw new RefusedError(`"${env}" is production: use \`prodguard migrate deploy --env ${env}\` from CI; migrate apply is for staging`, 'migrate.production-apply');
  }
  const url = connectionUrl(loaded, env);
  try {
    assertNotProduction(loaded, env, url, 'migrate apply');
  } catch (err) {
    await ctx.audit({ action: 'migrate.apply', command, target: env, verdict: 'refused', reason: errorMessage(err) });
    throw err;
  }
  // The URL's spelling proves nothing: ask the database which environment it is (policy/environment-identity.ts).
  await checkReachedEnvironment(ctx, env, url, command, 'migrate.apply');
  const actor = currentActor();
  // Held from before the pending migrations are read: a concurrent run waits, then sees ours applied.
  const lock = await acquireMigrationLock(url, { env, actor, noWait: opts.noWait, onWait: opts.onWait });
  try {
    return await applyLocked(ctx, env, url, actor, { ...opts, ensureLocked: () => lock.ensureHeld() });
  } finally {
    await lock.release();
  }
}

async function applyLocked(ctx: Context, env: string, url: string, actor: string, opts: StagingApplyOptions & { ensureLocked: () => Promise<void> }): Promise<StagingApplyResult> {
  const { loaded } = ctx;
  const kind = loaded.config.environments[env].kind;
  const command = `prodguard migrate apply --env ${env}`;
  const state = await envState(loaded, env, url);
  if (state.pending.length === 0) {
    await ctx.audit({ action: 'migrate.apply', command, target: env, verdict: 'ok', reason: 'nothing pending' });
    return { environment: env, changeHash: state.change.hash, applied: [], schemaFingerprint: null };
  }
  let applied: AppliedResult[];
  try {
    await opts.ensureLocked();
    applied = await applyMigrations(loaded, url, state.pending, {
      actor,
      changeHash: state.change.hash,
      history: historyTarget(loaded),
      onMigration: (m, phase) => phase === 'start' && opts.onMigration?.(m.file),
    });
  } catch (err) {
    const refused = err instanceof MigrationRefusedError;
    const reason = err instanceof MigrationFailedError || refused ? err.message : `migrate apply failed: ${errorMessage(err)}`;
    await ctx.audit({ action: 'migrate.apply', command, target: env, verdict: refused ? 'refused' : 'failed', reason, details: { changeHash: state.change.hash } });
    throw err;
  }
  const snap = await schemaSnapshot(url);
  if (kind === 'staging') {
    const pass: StagingPass = {
      environment: env,
      changeHash: state.change.hash,
      migrations: state.pending.map((m) => ({ file: m.file, sha256: m.sha256 })),
      actor,
      at: new Date().toISOString(),
      schemaFingerprint: snap.fingerprint,
    };
    await (await ctx.store()).put(STAGING_PASSES, `${env}:${state.change.hash}`, pass);
  }
  await ctx.audit({
    action: 'migrate.apply',
    command,
    target: env,
    verdict: 'ok',
    reason: `applied ${applied.length} migration(s)${kind === 'staging' ? '; recorded as passed on staging' : ''}`,
    details: { changeHash: state.change.hash, migrations: applied.map((a) => a.file), schemaFingerprint: snap.fingerprint },
  });
  return { environment: env, changeHash: state.change.hash, applied, schemaFingerprint: snap.fingerprint };
}
