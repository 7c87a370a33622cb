/**
 * `migrate request --env production`: opens the pending change of a production environment for
 * approval, naming its author (currentActor). The record goes to the state store and, next to the
 * approvals, to `<approvals dir>/<hash>.change.json` so it travels with the pull request.
 */
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from '../context.js';
import { currentActor } from '../audit/actor.js';
import { envState, requireEnv } from './change.js';
import { approvalsDir } from './approvals.js';
import { CHANGES, getChange, type ChangeRecord } from './records.js';
import { RefusedError, UsageError } from '../errors.js';
import { createPublicKey } from 'node:crypto';
import { formatPublicKey, loadPrivateKey } from './keys.js';
import { approvalTermsInForce } from '../policy/terms.js';
import { signRequest, verifyRequest } from './request-signature.js';

export async function requestChange(ctx: Context, env: string, opts: { keyFile?: string } = {}): Promise<{ change: ChangeRecord; created: boolean }> {
  const { loaded } = ctx;
  requireEnv(loaded, env, 'production');
  if (!opts.keyFile) throw new UsageError('--key is required: a request is signed by its requester (prodguard keys generate)', 'usage');
  const command = `prodguard migrate request --env ${env}`;
  const key = loadPrivateKey(opts.keyFile);
  const { terms, problem } = await approvalTermsInForce(ctx);
  if (!terms) {
    await ctx.audit({ action: 'migrate.request', command, target: env, verdict: 'refused', reason: problem! });
    throw new RefusedError(problem!, 'policy.none');
  }
  const pub = formatPublicKey(createPublicKey(key));
  const requester = terms.members.find((m) => m.publicKey?.trim() === pub);
  if (!requester) {
    const reason = `the key ${opts.keyFile} belongs to no member of ${terms.source}; requests are signed by a member`;
    await ctx.audit({ action: 'migrate.request', command, target: env, verdict: 'refused', reason });
    throw new RefusedError(reason, 'request.unknown-key');
  }
  const state = await envState(loaded, env);
  if (state.pending.length === 0) throw new UsageError(`nothing to request: no pending migrations for ${env}`, 'migrate.nothing');
  const existing = await changeRecord(ctx, state.change.hash);
  if (existing && verifyRequest(existing, terms).ok) return { change: existing, created: false };
  const change: ChangeRecord = signRequest(
    {
      hash: state.change.hash,
      environment: env,
      author: requester.name,
      requestedAt: new Date().toISOString(),
      migrations: state.pending.map((m) => ({ file: m.file, sha256: m.sha256 })),
    },
    key,
  );
  await (await ctx.store()).put(CHANGES, change.hash, change);
  const dir = approvalsDir(loaded);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${change.hash.slice(0, 16)}.change.json`), JSON.stringify(change, null, 2) + '\n');
  await ctx.audit({
    action: 'migrate.request',
    command,
    target: env,
    verdict: 'ok',
    // The requester is whoever holds the key of a member of the policy in force (ap-082).
    actor: change.author,
    actorSource: 'signature',
    reason: `change ${change.hash.slice(0, 12)} opened for approval by ${change.author} (signed request; claimed actor ${currentActor()})`,
    details: { changeHash: change.hash, migrations: change.migrations.map((m) => m.file), requester: change.author, requesterKey: pub },
  });
  return { change, created: true };
}

/** The change's record from the store, else from the repo's change file. */
export async function changeRecord(ctx: Context, hash: string): Promise<ChangeRecord | null> {
  const stored = await getChange(ctx, hash);
  if (stored) return stored;
  const file = join(approvalsDir(ctx.loaded), `${hash.slice(0, 16)}.change.json`);
  if (!existsSync(file)) return null;
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as ChangeRecord;
    return c.hash === hash ? c : null;
  } catch {
    return null;
  }
}
