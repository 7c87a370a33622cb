/**
 * Time-boxed write grants: the only way a person gets write access through the gateway (and, via
 * lockdown tokens, past the database's own triggers). A grant names one environment, one person,
 * a reason and a kind — `deploy` (an approved change being applied) or `break-glass` (an
 * emergency) — and an expiry. Expiry is checked every time a grant is used: nothing has to run
 * to revoke it, so a crashed or killed process cannot leave write access open.
 */
import { randomUUID } from 'node:crypto';
import type { StateStore } from '../store/store.js';
import { UsageError } from '../errors.js';

export const GRANTS_COLLECTION = 'grants';
export type GrantKind = 'deploy' | 'break-glass';
/** The longest grant anyone can create: write access is meant for minutes, not days. */
export const MAX_GRANT_MS = 4 * 3_600_000;

export interface Grant {
  id: string;
  env: string;
  person: string;
  reason: string;
  kind: GrantKind;
  createdAt: string;
  createdBy: string;
  expiresAt: string;
  revokedAt: string | null;
}

export interface NewGrant {
  env: string;
  person: string;
  reason: string;
  kind: GrantKind;
  durationMs: number;
  createdBy: string;
  now?: Date;
}

export async function createGrant(store: StateStore, g: NewGrant): Promise<Grant> {
  if (!g.reason.trim()) throw new UsageError('a grant needs a reason', 'grant.invalid');
  if (!(g.durationMs > 0) || g.durationMs > MAX_GRANT_MS) throw new UsageError(`a grant lasts between 1 ms and ${MAX_GRANT_MS / 3_600_000}h`, 'grant.invalid');
  const now = g.now ?? new Date();
  const grant: Grant = {
    id: `grant-${randomUUID()}`,
    env: g.env,
    person: g.person,
    reason: g.reason,
    kind: g.kind,
    createdAt: now.toISOString(),
    createdBy: g.createdBy,
    expiresAt: new Date(now.getTime() + g.durationMs).toISOString(),
    revokedAt: null,
  };
  await store.put(GRANTS_COLLECTION, grant.id, grant);
  return grant;
}

/** True while the grant is neither revoked nor past its expiry at `now`. */
export function grantIsActive(g: Grant, now: Date = new Date()): boolean {
  return g.revokedAt === null && Date.parse(g.expiresAt) > now.getTime();
}

/** The person's active grant for the environment that lasts longest, or null. */
export async function activeGrant(store: StateStore, env: string, person: string, now: Date = new Date()): Promise<Grant | null> {
  const all = await store.list<Grant>(GRANTS_COLLECTION, { where: { env, person } });
  const live = all.map((d) => d.doc).filter((g) => grantIsActive(g, now));
  live.sort((a, b) => Date.parse(b.expiresAt) - Date.parse(a.expiresAt));
  return live[0] ?? null;
}

export async function listGrants(store: StateStore, opts: { env?: string; activeOnly?: boolean; now?: Date } = {}): Promise<Grant[]> {
  const all = (await store.list<Grant>(GRANTS_COLLECTION, opts.env ? { where: { env: opts.env } } : {})).map((d) => d.doc);
  return opts.activeOnly ? all.filter((g) => grantIsActive(g, opts.now)) : all;
}

export async function revokeGrant(store: StateStore, id: string, now: Date = new Date()): Promise<Grant> {
  const g = await store.get<Grant>(GRANTS_COLLECTION, id);
  if (!g) throw new UsageError(`no grant "${id}"`, 'grant.unknown');
  const revoked = { ...g, revokedAt: g.revokedAt ?? now.toISOString() };
  await store.put(GRANTS_COLLECTION, id, revoked);
  return revoked;
}
