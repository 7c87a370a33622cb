/**
 * Break-glass: emergency write access to production for one senior, for minutes.
 *
 * Order matters and every step fails closed:
 *  1. the request is signed by the key of a senior of the signed, pinned policy in force (a second
 *     senior's too with --without-backup); the working tree's prodguard.yaml team does not count;
 *     for production, that policy must carry the one production last deployed under (its pin);
 *  2. an immediate backup of the environment is taken and verified by restoring it — if that
 *     fails the glass stays closed;
 *  3. a time-boxed `break-glass` grant is written (src/grants: the gateway and the guard honour
 *     it) and, when the lockdown is installed in that database, a lockdown token with the same
 *     expiry is issued inside the database, so the database side expires by itself;
 *  4. the opening is audited (with the grant id) and sent to every notification channel.
 * Expiry is data (the grant's expiresAt, the token's expires_at), checked at every use: nothing
 * has to be running for the glass to close again.
 */
import { createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Context } from '../context.js';
import { connectionUrl, requireEnvironment } from '../config/connection.js';
import { RefusedError, UsageError, errorMessage } from '../errors.js';
import { createGrant, grantIsActive, listGrants, revokeGrant, MAX_GRANT_MS, type Grant } from '../grants/grants.js';
import { LOCKDOWN_COLLECTION } from '../lockdown/lockdown.js';
import { notifyEvent } from '../notify/send.js';
import { currentActor } from '../audit/actor.js';
import { signBreakGlass, verifyBreakGlass, type SignedBreakGlass } from './signature.js';
import { membersInForce } from './seniors.js';
import type { PolicyMember } from '../policy/document.js';
import { END_TOKEN_SQL } from './sql/end-token.js';
import { resolveEnvironment } from '../config/resolve-environment.js';
import { pinProblem, productionPinRefusal } from '../policy/production-pin.js';
import { issueLockdownToken } from '../lockdown/lockdown.js';
import { connect } from '../pg/client.js';

export const BREAK_GLASS_COLLECTION = 'break-glass';
export const DEFAULT_BREAK_GLASS_MS = 30 * 60_000;

export interface BreakGlassRecord {
  grantId: string;
  env: string;
  person: string;
  reason: string;
  openedAt: string;
  expiresAt: string;
  backupId: string | null;
  backupVerifiedMs: number | null;
  /** With --without-backup: the second senior who agreed. */
  secondSenior: string | null;
  request: SignedBreakGlass;
  secondRequest: SignedBreakGlass | null;
  lockdownTokenSha256: string | null;
  lockdownTokenExpiresAt: string | null;
  endedAt: string | null;
  endedBy: string | null;
}

export interface OpenBreakGlassOptions {
  env: string;
  reason: string;
  durationMs?: number;
  key: KeyObject;
  withoutBackup?: boolean;
  secondKey?: KeyObject;
  onPhase?: (line: string) => void;
  now?: Date;
}

export interface OpenBreakGlassResult {
  grant: Grant;
  record: BreakGlassRecord;
  /** Present when the lockdown is installed: SET prodguard.token = '<it>' in a direct session. */
  lockdownToken: string | null;
}

/** "30m" is what people type at 3 a.m.; the config's duration syntax says "30min". */
export function parseBreakGlassDuration(text: string): number {
  const m = /^(\d+)(s|m|min|h)$/.exec(text.trim());
  if (!m) throw new UsageError(`--duration must look like 30m, 90min or 2h, got "${text}"`, 'break-glass.duration');
  const ms = Number(m[1]) * { s: 1000, m: 60_000, min: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'min' | 'h'];
  if (ms <= 0 || ms > MAX_GRANT_MS) throw new UsageError(`--duration must be between 1s and ${MAX_GRANT_MS / 3_600_000}h`, 'break-glass.duration');
  return ms;
}

async function immediateVerifiedBackup(ctx: Context, env: string, reason: string, say: (s: string) => void): Promise<{ id: string; verifyMs: number }> {
  const { createBackup } = await import('../backup/create.js');
  const { verifyBackup } = await import('../backup/verify.js');
  say(`taking an immediate backup of ${env}`);
  const b = await createBackup(ctx, { env, reason: `break-glass: ${reason}` });
  say(`backup ${b.id}${b.degraded ? ' (degraded: some destinations failed)' : ''}; verifying by restoring it`);
  const v = await verifyBackup(ctx, b.id, { env });
  if (!v.ok) throw new RefusedError(`backup ${b.id} did not verify: ${v.problems.join('; ')}`, 'break-glass.backup');
  return { id: b.id, verifyMs: v.durationMs };
}

export async function openBreakGlass(ctx: Context, o: OpenBreakGlassOptions): Promise<OpenBreakGlassResult> {
  const say = o.onPhase ?? (() => {});
  const durationMs = o.durationMs ?? DEFAULT_BREAK_GLASS_MS;
  const command = `prodguard break-glass --env ${o.env} --reason ${JSON.stringify(o.reason)} --duration ${Math.round(durationMs / 1000)}s${o.withoutBackup ? ' --without-backup' : ''}`;
  const refuse = async (err: unknown, person: string | null): Promise<never> => {
    await ctx.audit({ action: 'break-glass.open', command, target: o.env, verdict: 'refused', reason: errorMessage(err), ...(person ? { actor: person, actorSource: 'signature' as const } : {}) });
    throw err;
  };
  if (!o.reason.trim()) throw new UsageError('break-glass needs --reason: say what is broken', 'break-glass.reason');
  requireEnvironment(ctx.loaded, o.env);

  let request: SignedBreakGlass;
  let senior: string;
  let second: { request: SignedBreakGlass; name: string } | null = null;
  let members: PolicyMember[];
  try {
    members = await membersInForce(ctx);
    request = signBreakGlass(members, o.key, { env: o.env, reason: o.reason, durationMs }, o.now);
    senior = verifyBreakGlass(members, request).name;
  } catch (err) {
    return refuse(err, null);
  }
  if (o.withoutBackup) {
    try {
      if (!o.secondKey) throw new RefusedError('--without-backup needs a second senior\'s key (--second-key): skipping the backup is a two-person decision', 'break-glass.second-senior');
      const r2 = signBreakGlass(members, o.secondKey, { env: o.env, reason: o.reason, durationMs }, o.now);
      const m2 = verifyBreakGlass(members, r2);
      if (m2.name === senior) throw new RefusedError(`--without-backup needs a second, different senior; both keys belong to ${senior}`, 'break-glass.second-senior');
      second = { request: r2, name: m2.name };
    } catch (err) {
      return refuse(err, senior);
    }
  }

  // The pin first, before the backup writes anything (red team w5c-021: a --config store's policy
  // sent the break-glass backup to its own destination before the pin refused the glass). A pin
  // that cannot be read here is left to the backup ("the backup failed") and the check below.
  const isProduction = resolveEnvironment(ctx.loaded, { environment: o.env }).kind === 'production';
  if (isProduction) {
    let early: string | null = null;
    try {
      early = await pinProblem(ctx, connectionUrl(ctx.loaded, o.env));
    } catch {
      early = null;
    }
    if (early) return refuse(new RefusedError(`break-glass refused: ${early}`, 'break-glass.policy-pin'), senior);
  }

  let backup: { id: string; verifyMs: number } | null = null;
  if (!o.withoutBackup) {
    try {
      backup = await immediateVerifiedBackup(ctx, o.env, o.reason, say);
    } catch (err) {
      const e = new RefusedError(`break-glass refused: the backup before opening failed, the glass stays closed (${errorMessage(err)}). Fix the backup, or use --without-backup with a second senior's key`, 'break-glass.backup', err);
      await notifyEvent(ctx, { event: 'backup.failed', environment: o.env, summary: `break-glass backup failed: ${errorMessage(err)}` });
      return refuse(e, senior);
    }
  }

  // Production remembers the policy it last deployed under (the deploy gate's check): a chain cut
  // back, or a policy pinned in another store (--config with a local SQLite), is refused here too.
  // Checked after the backup so that an unreachable production reads as "the backup failed".
  if (isProduction) {
    const pinned = await productionPinRefusal(ctx, connectionUrl(ctx.loaded, o.env));
    if (pinned) return refuse(new RefusedError(`break-glass refused: ${pinned}`, 'break-glass.policy-pin'), senior);
  }
  const grant = await createGrant(await ctx.store(), { env: o.env, person: senior, reason: o.reason, kind: 'break-glass', durationMs, createdBy: senior, now: o.now });
  let lockdownToken: string | null = null;
  let tokenExpiresAt: string | null = null;
  if (await (await ctx.store()).get(LOCKDOWN_COLLECTION, o.env)) {
    try {
      const t = await issueLockdownToken(connectionUrl(ctx.loaded, o.env), { kind: 'break-glass', ttlMs: Date.parse(grant.expiresAt) - Date.now(), person: senior, reason: `${grant.id}: ${o.reason}` });
      lockdownToken = t.token;
      tokenExpiresAt = t.expiresAt;
    } catch (err) {
      // A grant without its database half would be a half-open glass: close it again.
      await revokeGrant(await ctx.store(), grant.id);
      return refuse(new RefusedError(`break-glass refused: the lockdown token could not be issued (${errorMessage(err)}); grant ${grant.id} revoked`, 'break-glass.lockdown'), senior);
    }
  }
  const record: BreakGlassRecord = {
    grantId: grant.id, env: o.env, person: senior, reason: o.reason, openedAt: grant.createdAt, expiresAt: grant.expiresAt,
    backupId: backup?.id ?? null, backupVerifiedMs: backup?.verifyMs ?? null, secondSenior: second?.name ?? null,
    request, secondRequest: second?.request ?? null,
    lockdownTokenSha256: lockdownToken ? createHash('sha256').update(lockdownToken, 'utf8').digest('hex') : null,
    lockdownTokenExpiresAt: tokenExpiresAt, endedAt: null, endedBy: null,
  };
  await (await ctx.store()).put(BREAK_GLASS_COLLECTION, grant.id, record);
  await ctx.audit({
    action: 'break-glass.open', command, target: o.env, verdict: 'ok', actor: senior, actorSource: 'signature',
    reason: `break-glass opened for ${senior} until ${grant.expiresAt}: ${o.reason}`,
    details: { grant: grant.id, backupId: record.backupId, secondSenior: record.secondSenior, lockdownToken: !!lockdownToken },
  });
  await notifyEvent(ctx, {
    event: 'break-glass.opened', environment: o.env,
    summary: `${senior} opened break-glass until ${grant.expiresAt}: ${o.reason}${backup ? ` (backup ${backup.id} verified)` : ` (WITHOUT backup, agreed by ${second?.name})`}`,
    details: { grantId: grant.id, person: senior, expiresAt: grant.expiresAt, backupId: record.backupId },
  });
  return { grant, record, lockdownToken };
}

export interface BreakGlassView extends BreakGlassRecord {
  state: 'active' | 'expired' | 'ended';
}

export async function listBreakGlass(ctx: Context, opts: { env?: string; now?: Date } = {}): Promise<BreakGlassView[]> {
  const store = await ctx.store();
  const grants = new Map((await listGrants(store, { env: opts.env })).map((g) => [g.id, g]));
  const recs = (await store.list<BreakGlassRecord>(BREAK_GLASS_COLLECTION, opts.env ? { where: { env: opts.env } } : {})).map((d) => d.doc);
  return recs.map((r) => {
    const g = grants.get(r.grantId);
    const state = g && grantIsActive(g, opts.now) ? 'active' : g?.revokedAt || r.endedAt ? 'ended' : 'expired';
    return { ...r, state };
  });
}

/** Closes every active break-glass of the environment (or just `grantId`) now: grant revoked, database token ended. */
export async function endBreakGlass(ctx: Context, o: { env: string; grantId?: string }): Promise<BreakGlassView[]> {
  requireEnvironment(ctx.loaded, o.env);
  const store = await ctx.store();
  const active = (await listBreakGlass(ctx, { env: o.env })).filter((r) => r.state === 'active' && (!o.grantId || r.grantId === o.grantId));
  if (active.length === 0) throw new UsageError(`no active break-glass on ${o.env}${o.grantId ? ` with grant ${o.grantId}` : ''}`, 'break-glass.none');
  const actor = currentActor();
  const ended: BreakGlassView[] = [];
  for (const r of active) {
    await revokeGrant(store, r.grantId);
    let tokenNote = '';
    if (r.lockdownTokenSha256) {
      try {
        const c = await connect(connectionUrl(ctx.loaded, o.env));
        try {
          await c.query(END_TOKEN_SQL, [r.lockdownTokenSha256]);
        } finally {
          await c.end();
        }
      } catch (err) {
        tokenNote = ` (the database token could not be ended early: ${errorMessage(err)}; it expires at ${r.lockdownTokenExpiresAt})`;
      }
    }
    const rec: BreakGlassRecord = { ...r, endedAt: new Date().toISOString(), endedBy: actor };
    delete (rec as Partial<BreakGlassView>).state;
    await store.put(BREAK_GLASS_COLLECTION, r.grantId, rec);
    await ctx.audit({ action: 'break-glass.end', command: `prodguard break-glass end --env ${o.env}`, target: o.env, verdict: 'ok', reason: `break-glass ${r.grantId} of ${r.person} ended early${tokenNote}`, details: { grant: r.grantId } });
    await notifyEvent(ctx, { event: 'break-glass.closed', environment: o.env, summary: `break-glass of ${r.person} ended by ${actor}${tokenNote}`, details: { grantId: r.grantId } });
    ended.push({ ...rec, state: 'ended' });
  }
  return ended;
}
