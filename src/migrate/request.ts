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
import { UsageError } from '../errors.js';

export async function requestChange(ctx: Context, env: string): Promise<{ change: ChangeRecord; created: boolean }> {
  const { loaded } = ctx;
  requireEnv(loaded, env, 'production');
  const state = await envState(loaded, env);
  if (state.pending.length === 0) throw new UsageError(`nothing to request: no pending migrations for ${env}`, 'migrate.nothing');
  const existing = await changeRecord(ctx, state.change.hash);
  if (existing) return { change: existing, created: false };
  const change: ChangeRecord = {
    hash: state.change.hash,
    environment: env,
    author: currentActor(),
    requestedAt: new Date().toISOString(),
    migrations: state.pending.map((m) => ({ file: m.file, sha256: m.sha256 })),
  };
  await (await ctx.store()).put(CHANGES, change.hash, change);
  const dir = approvalsDir(loaded);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${change.hash.slice(0, 16)}.change.json`), JSON.stringify(change, null, 2) + '\n');
  await ctx.audit({
    action: 'migrate.request',
    command: `prodguard migrate request --env ${env}`,
    target: env,
    verdict: 'ok',
    reason: `change ${change.hash.slice(0, 12)} opened for approval by ${change.author}`,
    details: { changeHash: change.hash, migrations: change.migrations.map((m) => m.file) },
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
