/**
 * Who is acting: `ci` in CI, else the git identity, else the OS user. PRODGUARD_ACTOR overrides
 * it (used by the demo to play several people); it names, it does not authorise — approvals are
 * signatures, not names.
 *
 * Where the name came from is kept with each audit record (`actorSource`, red team ap-082): a
 * name from the environment, git or the OS is self-declared (anyone can set PRODGUARD_ACTOR=bob);
 * only a signature verified by the key of a member of the policy in force, or a CI platform token
 * verified (and claimed in production) in the same operation, is not. Readers mark the rest.
 */
import { spawnSync } from 'node:child_process';
import { currentOsUser } from '../pg/cluster.js';

/**
 * - `PRODGUARD_ACTOR`, `git`, `os`, `ci-env` (CI=true with GITHUB_ACTOR or nothing): self-declared;
 * - `ci-token`: the CI platform's signed OIDC token, verified in the same operation;
 * - `signature`: a key of a member of the policy in force, verified in the same operation.
 */
export type ActorSource = 'PRODGUARD_ACTOR' | 'git' | 'os' | 'ci-env' | 'ci-token' | 'signature';

const VERIFIED: ReadonlySet<string> = new Set<ActorSource>(['ci-token', 'signature']);

let cached: { actor: string; source: ActorSource } | undefined;

export function isCi(env: Record<string, string | undefined> = process.env): boolean {
  return env.CI === 'true' || env.CI === '1';
}

/** The acting name and where it came from (always self-declared: nothing here is verified). */
export function currentActorWithSource(env: Record<string, string | undefined> = process.env): { actor: string; source: ActorSource } {
  if (env.PRODGUARD_ACTOR) return { actor: env.PRODGUARD_ACTOR, source: 'PRODGUARD_ACTOR' };
  if (isCi(env)) return { actor: env.GITHUB_ACTOR ? `ci:${env.GITHUB_ACTOR}` : 'ci', source: 'ci-env' };
  if (cached) return cached;
  const git = spawnSync('git', ['config', 'user.email'], { encoding: 'utf8', timeout: 2000 });
  const email = git.status === 0 ? git.stdout.trim() : '';
  cached = email ? { actor: `${email} (${currentOsUser()})`, source: 'git' } : { actor: currentOsUser(), source: 'os' };
  return cached;
}

export function currentActor(env: Record<string, string | undefined> = process.env): string {
  return currentActorWithSource(env).actor;
}

type Marked = { actor: string; action?: string; actorSource?: string };

/**
 * Where a record's actor came from. Records older than the field carry none: self-declared. The
 * gateway's own per-statement records (src/gateway/audit-sink.ts) name the gateway user who logged
 * in with their SCRAM password (`gateway-login`): a credential, but not a signature or CI token.
 */
export function actorSourceOf(rec: Marked): string {
  if (rec.actorSource) return rec.actorSource;
  return rec.action?.startsWith('gateway.') ? 'gateway-login' : 'unrecorded';
}

/** Whether a record's actor was verified when it was written (a signature or a CI token). */
export function actorVerified(rec: Marked): boolean {
  return rec.actorSource !== undefined && VERIFIED.has(rec.actorSource);
}

/** The actor as shown to people: `bob (self-declared)` unless verified. */
export function actorLabel(rec: Marked): string {
  if (actorVerified(rec)) return rec.actor;
  return actorSourceOf(rec) === 'gateway-login' ? `${rec.actor} (gateway login)` : `${rec.actor} (self-declared)`;
}

/** What JSON output adds to a record: where its actor came from, and whether that was verified. */
export function withActorMark<T extends Marked>(rec: T): T & { actorSource: string; actorVerified: boolean } {
  return { ...rec, actorSource: actorSourceOf(rec), actorVerified: actorVerified(rec) };
}
