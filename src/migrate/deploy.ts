/**
 * `migrate deploy --env production`: the gate (gate.ts), then a fresh pre-migration backup taken
 * and verified by restore through the backup layer (fail closed: no verified backup, no deploy),
 * then each migration in its own transaction with timeouts and its history row (apply.ts), then
 * post-deploy verification (verify.ts). A failing migration is rolled back; the error names the
 * pre-migration backup and the command that restores it.
 *
 * The whole deploy holds the environment's migration lock (deploy-lock.ts): a second deploy waits
 * (or is refused with --no-wait) and then sees what the first one applied. Files the runner would
 * refuse (transaction control, unparseable) are refused before the backup is taken. The backup
 * must be on every configured destination: a degraded backup (a destination failed) is refused
 * unless the deployer passes --allow-degraded-backup with a reason, which is audited.
 */
import type { Context } from '../context.js';
import { connectionUrl } from '../config/connection.js';
import { currentActor } from '../audit/actor.js';
import { RefusedError, errorMessage } from '../errors.js';
import { envState, requireEnv } from './change.js';
import { evaluateGate, type GateResult } from './gate.js';
import { historyTarget } from './history.js';
import { applyMigrations, MigrationFailedError, type AppliedResult } from './apply.js';
import { verifyDeploy, type VerifyDeployResult } from './verify.js';
import { DEPLOYS, type DeployRecord } from './records.js';
import { acquireMigrationLock } from './deploy-lock.js';
import { prepareMigrations } from './runnable.js';
import { UsageError } from '../errors.js';
import { pinPolicyInProduction } from '../policy/production-pin.js';
import { claimCiToken } from '../policy/ci-token-use.js';
import { actingAs } from '../audit/acting.js';
import { issueLockdownToken } from '../lockdown/lockdown.js';
import { withClient } from '../pg/client.js';
import { requireReadOnlyChecks } from '../restore/smoke.js';
import { migrateShadowFirst, publishNewTables } from '../shadow/migrate.js';

export interface DeployResult {
  environment: string;
  changeHash: string;
  backupId: string | null;
  applied: AppliedResult[];
  gate: GateResult | null;
  verification: VerifyDeployResult | null;
}

export interface DeployOptions {
  onPhase?: (phase: string) => void;
  /** Verify the pre-migration backup in a scratch database on this server (else a throw-away cluster). */
  verifyScratchUrl?: string;
  /** Refuse at once when another migration run holds the lock (default: wait). */
  noWait?: boolean;
  /** Accept a pre-migration backup that is missing on some destination; needs `degradedReason`. */
  allowDegradedBackup?: boolean;
  degradedReason?: string;
}

export async function deploy(ctx: Context, env: string, opts: DeployOptions = {}): Promise<DeployResult> {
  const { loaded } = ctx;
  requireEnv(loaded, env, 'production');
  if (opts.allowDegradedBackup && !opts.degradedReason?.trim()) throw new UsageError('--allow-degraded-backup needs --reason "<why a backup missing on a destination is acceptable now>"', 'usage');
  // The post-deploy health checks come from the unsigned config: refused before any migration is applied.
  await requireReadOnlyChecks(loaded.config.migrations.healthChecks, 'health check');
  const url = connectionUrl(loaded, env);
  const lock = await acquireMigrationLock(url, { env, actor: currentActor(), noWait: opts.noWait, onWait: (m) => opts.onPhase?.(m) });
  try {
    return await deployLocked(ctx, env, url, { ...opts, ensureLocked: () => lock.ensureHeld() });
  } finally {
    await lock.release();
  }
}

async function deployLocked(ctx: Context, env: string, url: string, opts: DeployOptions & { ensureLocked: () => Promise<void> }): Promise<DeployResult> {
  const { loaded } = ctx;
  const command = `prodguard migrate deploy --env ${env}`;
  const state = await envState(loaded, env, url);
  const short = state.change.hash.slice(0, 12);
  const actor = currentActor();
  if (state.pending.length === 0) {
    await ctx.audit({ action: 'migrate.deploy', command, target: env, verdict: 'ok', reason: 'nothing pending' });
    return { environment: env, changeHash: state.change.hash, backupId: null, applied: [], gate: null, verification: null };
  }
  const migrations = state.pending.map((m) => ({ file: m.file, sha256: m.sha256 }));
  const store = await ctx.store();
  const recordId = `${env}:${state.change.hash}:${Date.now()}`;
  const record = async (r: Partial<DeployRecord> & Pick<DeployRecord, 'outcome'>) =>
    store.put<DeployRecord>(DEPLOYS, recordId, { changeHash: state.change.hash, environment: env, actor, at: new Date().toISOString(), backupId: null, migrations, approvers: [], ...r });

  opts.onPhase?.('checking the deploy gate');
  const gate = await evaluateGate(ctx, state);
  if (!gate.ok) {
    const failing = gate.checks.filter((c) => !c.ok);
    const reason = `deploy of change ${short} to ${env} refused: ${failing.map((c) => `[${c.name}] ${c.detail}`).join('; ')}`;
    await ctx.audit({ action: 'migrate.deploy', command, target: env, verdict: 'refused', reason, details: { changeHash: state.change.hash, failing: failing.map((c) => c.name) } });
    await record({ outcome: 'refused', error: reason });
    throw new RefusedError(reason, 'migrate.gate');
  }
  if (gate.identity) {
    const replay = await claimCiToken(url, gate.identity, state.change.hash);
    if (replay) {
      const reason = `deploy of change ${short} to ${env} refused: [ci] ${replay}`;
      await ctx.audit({ action: 'migrate.deploy', command, target: env, verdict: 'refused', reason, details: { changeHash: state.change.hash, failing: ['ci'], runId: gate.identity.runId } });
      await record({ outcome: 'refused', error: reason });
      throw new RefusedError(reason, 'migrate.gate');
    }
    // From here on the deploy is the CI identity the platform's token proved (verified by the gate,
    // claimed in production just now): its audit records say so, not the self-declared name (ap-082).
    ctx = actingAs(ctx, `oidc:${gate.identity.subject}`, 'ci-token');
  }
  for (const s of gate.lint.suppressed) {
    await ctx.audit({
      action: 'migrate.lint-suppressed',
      command,
      target: env,
      verdict: 'ok',
      reason: `${s.ruleId} suppressed in ${s.file}:${s.line}: ${s.suppressed?.reason ?? ''}`,
      details: { changeHash: state.change.hash, ruleId: s.ruleId, file: s.file, line: s.line },
    });
  }

  try {
    await prepareMigrations(state.pending);
  } catch (err) {
    const reason = `deploy of change ${short} to ${env} refused: ${errorMessage(err)}`;
    await ctx.audit({ action: 'migrate.deploy', command, target: env, verdict: 'refused', reason, details: { changeHash: state.change.hash } });
    await record({ outcome: 'refused', error: reason, approvers: gate.approvals.validApprovers });
    throw new RefusedError(reason, 'migrate.refused');
  }

  opts.onPhase?.('taking the pre-migration backup');
  let backupId: string;
  try {
    const { createBackup, verifyBackup } = await import('../backup/index.js');
    const b = await createBackup(ctx, { env, url, reason: `pre-migration backup for change ${short}` });
    backupId = b.id;
    const configured = (loaded.config.backup?.destinations ?? []).map((d) => d.name);
    const missing = configured.filter((n) => !b.manifest.destinations.includes(n));
    if (b.degraded || missing.length) {
      const failed = b.failedDestinations.map((f) => `${f.name}: ${f.error}`).join('; ') || missing.join(', ');
      if (!opts.allowDegradedBackup) {
        throw new DegradedBackupError(`backup ${b.id} is degraded, it is not on every configured destination (${failed}); fix the destination, or pass --allow-degraded-backup --reason "…" to deploy anyway`);
      }
      await ctx.audit({
        action: 'migrate.degraded-backup-accepted',
        command: `${command} --allow-degraded-backup`,
        target: env,
        verdict: 'degraded',
        reason: `deploy of change ${short} proceeds on degraded pre-migration backup ${b.id} (${failed}): ${opts.degradedReason}`,
        details: { changeHash: state.change.hash, backupId: b.id, failedDestinations: b.failedDestinations, missing },
      });
      opts.onPhase?.(`pre-migration backup ${b.id} is degraded (${failed}); accepted: ${opts.degradedReason}`);
    }
    opts.onPhase?.(`verifying backup ${backupId} by restore`);
    const v = await verifyBackup(ctx, backupId, { env, ...(opts.verifyScratchUrl ? { scratchUrl: opts.verifyScratchUrl } : {}) });
    if (!v.ok) throw new Error(`backup ${backupId} failed verification: ${v.problems.join('; ')}`);
  } catch (err) {
    const reason = err instanceof DegradedBackupError
      ? `deploy of change ${short} to ${env} refused: ${err.message}; nothing was applied`
      : `deploy of change ${short} to ${env} refused: no verified pre-migration backup (${errorMessage(err)}); nothing was applied`;
    await ctx.audit({ action: 'migrate.deploy', command, target: env, verdict: 'refused', reason, details: { changeHash: state.change.hash } });
    await record({ outcome: 'refused', error: reason, approvers: gate.approvals.validApprovers });
    throw new RefusedError(reason, err instanceof DegradedBackupError ? 'migrate.degraded-backup' : 'migrate.no-backup');
  }

  opts.onPhase?.(`applying ${state.pending.length} migration(s)`);
  let applied: AppliedResult[];
  try {
    await opts.ensureLocked();
    // A production with a shadow (src/shadow) gets the migrations there first: replication carries rows, not DDL.
    await migrateShadowFirst(ctx, env, state.pending, opts.onPhase);
    // Production under lockdown refuses DDL from sessions without a token: only now, after the
    // gate passed and the backup was verified, issue a short-lived deploy token for the runner.
    // The token itself is never printed nor audited; only its expiry is.
    let lockdownToken: string | undefined;
    if (await lockdownInstalled(url)) {
      const ttlMs = 60 * 60 * 1000;
      const t = await issueLockdownToken(url, { kind: 'deploy', ttlMs, person: gate.identity ? `oidc:${gate.identity.subject}` : actor, reason: `migrate deploy of change ${short}` });
      lockdownToken = t.token;
      await ctx.audit({ action: 'lockdown.deploy-token', command, target: env, verdict: 'ok', reason: `deploy token issued for change ${short}, expires ${t.expiresAt}`, details: { changeHash: state.change.hash, expiresAt: t.expiresAt } });
    }
    applied = await applyMigrations(loaded, url, state.pending, {
      // The history row names the identity the CI platform proved, not a claimed name.
      actor: gate.identity ? `oidc:${gate.identity.subject}` : actor,
      changeHash: state.change.hash,
      history: historyTarget(loaded),
      onMigration: (m, phase) => phase === 'start' && opts.onPhase?.(`applying ${m.file}`),
      ...(lockdownToken ? { lockdownToken } : {}),
    });
  } catch (err) {
    const what = err instanceof MigrationFailedError ? err.message : `deploy failed: ${errorMessage(err)}`;
    const reason = `${what}. Pre-migration backup: ${backupId} — restore with: prodguard restore ${backupId}`;
    await ctx.audit({ action: 'migrate.deploy', command, target: env, verdict: 'failed', reason, details: { changeHash: state.change.hash, backupId } });
    await record({ outcome: 'failed', error: reason, backupId, approvers: gate.approvals.validApprovers });
    throw new RefusedError(reason, 'migrate.failed');
  }
  await record({ outcome: 'deployed', backupId, approvers: gate.approvals.validApprovers });
  // New tables join the shadow's publication once production has them; a failure here shows in `shadow status`.
  await publishNewTables(ctx, env).catch((err) => opts.onPhase?.(`shadow: new tables not published yet: ${errorMessage(err)}`));
  if (gate.policy) await pinPolicyInProduction(url, gate.policy); // production remembers the policy it was judged by
  await ctx.audit({
    action: 'migrate.deploy',
    command,
    target: env,
    verdict: 'ok',
    reason: `deployed change ${short} (${applied.length} migration(s)) approved by ${gate.approvals.validApprovers.join(', ')}; pre-migration backup ${backupId}`,
    details: { changeHash: state.change.hash, backupId, migrations: applied.map((a) => a.file), approvers: gate.approvals.validApprovers, identity: gate.identity, policy: gate.policy },
  });

  opts.onPhase?.('verifying production against staging');
  const verification = await verifyDeploy(ctx, env, { changeHash: state.change.hash });
  return { environment: env, changeHash: state.change.hash, backupId, applied, gate, verification };
}

class DegradedBackupError extends Error {}

/** Whether the lockdown is installed in the target database (its token function exists). */
async function lockdownInstalled(url: string): Promise<boolean> {
  return withClient(url, async (c) => (await c.query(`SELECT to_regprocedure('prodguard.issue_token(text, interval, text, text)') IS NOT NULL AS installed`)).rows[0].installed === true);
}
