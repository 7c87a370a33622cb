/**
 * Evidence from the databases: which database a connection really reached.
 *
 * `env enroll` writes a random id into prodguard.environment_identity and records it with the
 * server's system_identifier and the database name into the working tree's policy
 * (policy.environments), from where seniors pin it by signing the policy. From then on every
 * command that writes asks `checkReachedEnvironment` before writing: the facts read from the
 * database must be the ones the policy in force pins for the environment it was told, and must
 * not be another enrolled environment's — so production reached through another spelling of its
 * host (an IPv6-mapped address, localhost for 127.0.0.1, a tunnel) is refused as staging.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type pg from 'pg';
import type { Context } from '../context.js';
import { connectionUrl } from '../config/connection.js';
import { withClient } from '../pg/client.js';
import { RefusedError, UsageError } from '../errors.js';
import { currentActor } from '../audit/actor.js';
import type { EnvironmentIdentity } from './document.js';
import { policyInForce } from './chain.js';
import { CREATE_IDENTITY_SQL, DATABASE_NAME_SQL, IDENTITY_TABLE_EXISTS_SQL, READ_IDENTITY_SQL, SYSTEM_IDENTIFIER_SQL, UPSERT_IDENTITY_SQL } from './sql/identity.js';

export interface ReachedFacts {
  /** The identity row's id (null: never enrolled). */
  envId: string | null;
  /** What the row says it is. */
  enrolledAs: { environment: string; kind: string } | null;
  systemIdentifier: string;
  database: string;
}

export async function readFacts(c: pg.Client): Promise<ReachedFacts> {
  const database = (await c.query(DATABASE_NAME_SQL)).rows[0].database as string;
  let systemIdentifier = 'unreadable';
  try {
    systemIdentifier = (await c.query(SYSTEM_IDENTIFIER_SQL)).rows[0].system_identifier as string;
  } catch {
    // Not superuser/pg_monitor (e.g. a restricted hosted role): the row id and database still identify it.
  }
  let envId: string | null = null;
  let enrolledAs: ReachedFacts['enrolledAs'] = null;
  if ((await c.query(IDENTITY_TABLE_EXISTS_SQL)).rows[0].exists) {
    const row = (await c.query(READ_IDENTITY_SQL)).rows[0] as { id: string; environment: string; kind: string } | undefined;
    if (row) {
      envId = row.id;
      enrolledAs = { environment: row.environment, kind: row.kind };
    }
  }
  return { envId, enrolledAs, systemIdentifier, database };
}

export const readFactsAt = (url: string) => withClient(url, readFacts);

/** Same server and database as a pinned identity (whatever the row says). */
const sameServerDb = (f: ReachedFacts, p: EnvironmentIdentity) => f.systemIdentifier === p.systemIdentifier && f.database === p.database && f.systemIdentifier !== 'unreadable';

/** Is the reached database the pinned identity? Returns what differs. */
export function identityMismatch(f: ReachedFacts, p: EnvironmentIdentity): string | null {
  const diffs: string[] = [];
  if (f.envId !== p.envId) diffs.push(f.envId ? `identity ${f.envId.slice(0, 8)}… instead of ${p.envId.slice(0, 8)}…` : 'no identity row');
  if (f.systemIdentifier !== p.systemIdentifier) diffs.push(`server ${f.systemIdentifier} instead of ${p.systemIdentifier}`);
  if (f.database !== p.database) diffs.push(`database ${f.database} instead of ${p.database}`);
  return diffs.length ? diffs.join(', ') : null;
}

/**
 * Refuses when the database reached as `env` is another enrolled environment (production above
 * all), or is not the database the policy in force pins for `env`. Unenrolled environments are
 * only checked for being someone else.
 */
export function judgeReached(env: string, f: ReachedFacts, pinned: Record<string, EnvironmentIdentity>): { ok: true; enrolled: boolean } | { ok: false; reason: string } {
  for (const [name, p] of Object.entries(pinned)) {
    if (name === env) continue;
    if (f.envId === p.envId || sameServerDb(f, p)) {
      return { ok: false, reason: `the database reached as "${env}" is the enrolled ${p.kind} environment "${name}" (${f.envId === p.envId ? 'its identity row' : 'its server system_identifier and database name'}); refusing` };
    }
  }
  if (f.enrolledAs && f.enrolledAs.environment !== env && (f.enrolledAs.kind === 'production' || !pinned[env])) {
    return { ok: false, reason: `the database reached as "${env}" says it is the ${f.enrolledAs.kind} environment "${f.enrolledAs.environment}" (prodguard.environment_identity); refusing` };
  }
  const mine = pinned[env];
  if (!mine) return { ok: true, enrolled: false };
  const diff = identityMismatch(f, mine);
  if (diff) return { ok: false, reason: `the database reached as "${env}" is not the one the policy in force pins for it: ${diff}; refusing` };
  return { ok: true, enrolled: true };
}

/** For commands that write: read the facts, judge, audit a refusal, throw. */
export async function checkReachedEnvironment(ctx: Context, env: string, url: string, command: string, action: string): Promise<{ enrolled: boolean; facts: ReachedFacts }> {
  const facts = await readFactsAt(url);
  const { inForce } = await policyInForce(ctx);
  const verdict = judgeReached(env, facts, inForce?.policy.environments ?? {});
  if (!verdict.ok) {
    await ctx.audit({ action, command, target: env, verdict: 'refused', reason: verdict.reason, details: { reached: { database: facts.database, systemIdentifier: facts.systemIdentifier, envId: facts.envId } } });
    throw new RefusedError(verdict.reason, 'env.identity');
  }
  return { enrolled: verdict.enrolled, facts };
}

/** Writes the identity row with a given id (enrolment, or re-stamping after a staging refresh). */
export async function stampIdentity(url: string, id: string, env: string, kind: string, actor: string): Promise<ReachedFacts> {
  return withClient(url, async (c) => {
    await c.query('BEGIN');
    try {
      await c.query(CREATE_IDENTITY_SQL);
      await c.query(UPSERT_IDENTITY_SQL, [id, env, kind, actor]);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    }
    return readFacts(c);
  });
}

/**
 * `env enroll --env <name>`: gives the database an identity and writes it into the working
 * tree's policy (policy.environments.<name>), to be pinned by `policy propose` + `sign` (or
 * `policy init` for the first policy). Refuses a database that already carries another
 * environment's identity.
 */
export async function enrollEnvironment(ctx: Context, env: string): Promise<{ identity: EnvironmentIdentity; reused: boolean }> {
  const e = ctx.loaded.config.environments[env];
  if (!e) throw new UsageError(`unknown environment "${env}" (configured: ${Object.keys(ctx.loaded.config.environments).join(', ')})`, 'env.unknown');
  const command = `prodguard env enroll --env ${env}`;
  const url = connectionUrl(ctx.loaded, env);
  const before = await readFactsAt(url);
  const { inForce } = await policyInForce(ctx);
  const pinned = { ...(inForce?.policy.environments ?? {}), ...ctx.loaded.config.policy.environments };
  for (const [name, p] of Object.entries(pinned)) {
    if (name !== env && (before.envId === p.envId || sameServerDb(before, p))) {
      const reason = `this database is already enrolled as "${name}" (${p.kind}); one database is one environment`;
      await ctx.audit({ action: 'env.enroll', command, target: env, verdict: 'refused', reason });
      throw new RefusedError(reason, 'env.enrolled-elsewhere');
    }
  }
  if (before.enrolledAs && before.enrolledAs.environment !== env) {
    const reason = `this database says it is the ${before.enrolledAs.kind} environment "${before.enrolledAs.environment}"; refusing to enroll it as "${env}"`;
    await ctx.audit({ action: 'env.enroll', command, target: env, verdict: 'refused', reason });
    throw new RefusedError(reason, 'env.enrolled-elsewhere');
  }
  const reused = !!before.envId && before.enrolledAs?.environment === env;
  const id = reused ? before.envId! : randomBytes(16).toString('hex');
  const facts = await stampIdentity(url, id, env, e.kind, currentActor());
  const identity: EnvironmentIdentity = { kind: e.kind, envId: id, systemIdentifier: facts.systemIdentifier, database: facts.database };
  writeIdentityToConfig(ctx.loaded.file, env, identity);
  await ctx.audit({
    action: 'env.enroll',
    command,
    target: env,
    verdict: 'ok',
    reason: `${env} (${e.kind}) enrolled: identity ${id.slice(0, 8)}…, server ${facts.systemIdentifier}, database ${facts.database}; proposed in prodguard.yaml, in force once the policy is signed`,
    details: { identity },
  });
  return { identity, reused };
}

/** Edits policy.environments.<env> in prodguard.yaml, keeping the rest of the file (comments) as it is. */
function writeIdentityToConfig(file: string, env: string, identity: EnvironmentIdentity): void {
  const doc = parseDocument(readFileSync(file, 'utf8'));
  doc.setIn(['policy', 'environments', env], doc.createNode({ ...identity }));
  writeFileSync(file, doc.toString());
}
