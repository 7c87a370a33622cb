/**
 * What crashed or killed runs left behind: prodguard working directories in the local temp dir
 * (they may hold a plaintext dump — see private-dir.ts) and, on every destination, folders
 * without a manifest and `.tmp-*` partial objects, and on staging's server the side databases of a
 * killed staging refresh (its private copy holds unmasked production rows). Listed by `backup list --leftovers` and by
 * `status`; removed by `backup prune` (destination leftovers after the grace period).
 */
import type { Context } from '../context.js';
import { openDestinations, closeDestinations } from './destinations/index.js';
import { describeError } from './fan-out.js';
import { listBackups } from './catalog.js';
import { MANIFEST_NAME } from './manifest.js';
import { DEFAULT_LEFTOVER_GRACE_MS } from './prune.js';
import { findLocalLeftovers, type LocalLeftover } from './private-dir.js';
import type { RefreshDatabaseLeftover } from '../migrate/refresh-leftovers.js';

export interface DestinationLeftover {
  destination: string;
  key: string;
  bytes: number;
  modified: string;
  kind: 'no-manifest' | 'temp-file';
  /** Younger than the grace period: possibly a backup still being written. */
  recent: boolean;
}

export interface Leftovers {
  local: LocalLeftover[];
  destinations: DestinationLeftover[];
  /** Side databases of killed staging refreshes on staging's server (a private copy holds unmasked production rows). */
  databases: RefreshDatabaseLeftover[];
  errors: Array<{ destination: string; error: string }>;
}

export async function findLeftovers(ctx: Context, opts: { graceMs?: number; now?: Date } = {}): Promise<Leftovers> {
  const now = (opts.now ?? new Date()).getTime();
  const grace = opts.graceMs ?? DEFAULT_LEFTOVER_GRACE_MS;
  const catalogIds = new Set((await listBackups(ctx)).map((b) => b.id));
  const out: Leftovers = { local: findLocalLeftovers(), destinations: [], databases: [], errors: [] };
  // Staging refresh leftovers (migrate/refresh-leftovers.ts), loaded lazily: pg and the staging URLs only when asked.
  const { findRefreshLeftovers } = await import('../migrate/refresh-leftovers.js');
  const refresh = await findRefreshLeftovers(ctx.loaded);
  out.databases = refresh.databases;
  for (const e of refresh.errors) out.errors.push({ destination: `staging environment ${e.environment}`, error: e.error });
  const dests = openDestinations(ctx.loaded);
  try {
    for (const d of dests) {
      let objects;
      try {
        objects = await d.list('');
      } catch (err) {
        out.errors.push({ destination: d.name, error: describeError(err) });
        continue;
      }
      const withManifest = new Set(objects.filter((o) => o.key.split('/').length === 3 && o.key.endsWith(`/${MANIFEST_NAME}`)).map((o) => o.key.split('/').slice(0, 2).join('/')));
      for (const o of objects) {
        const parts = o.key.split('/');
        if (parts.length < 3 || parts[0] === 'pitr') continue;
        const folder = `${parts[0]}/${parts[1]}`;
        const temp = parts[parts.length - 1].startsWith('.tmp-');
        const orphan = !withManifest.has(folder) && !catalogIds.has(parts[1]);
        if (!temp && !orphan) continue;
        out.destinations.push({ destination: d.name, key: o.key, bytes: o.bytes, modified: o.modified.toISOString(), kind: temp ? 'temp-file' : 'no-manifest', recent: now - o.modified.getTime() <= grace });
      }
    }
  } finally {
    await closeDestinations(dests);
  }
  return out;
}
