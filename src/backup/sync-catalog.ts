/**
 * `backup sync-catalog`: rebuilds the catalog from the destinations' manifests alone, so losing
 * the state store loses nothing. A folder without a manifest is not a backup and is ignored.
 */
import type { Context } from '../context.js';
import { openDestinations, closeDestinations } from './destinations/index.js';
import { describeError } from './fan-out.js';
import { COLLECTION, deleteCatalog, putCatalog } from './catalog.js';
import { MANIFEST_NAME, parseManifest, type BackupManifest } from './manifest.js';

export interface SyncResult {
  found: number;
  added: string[];
  removed: string[];
  unreachable: Array<{ name: string; error: string }>;
  /** Destinations a manifest names that answered but no longer hold that manifest: damaged, kept in the entry. */
  damaged: Array<{ id: string; destination: string; problem: string }>;
}

export async function syncCatalog(ctx: Context): Promise<SyncResult> {
  const dests = openDestinations(ctx.loaded);
  const found = new Map<string, BackupManifest>();
  const holders = new Map<string, string[]>();
  const unreachable: Array<{ name: string; error: string }> = [];
  try {
    for (const d of dests) {
      try {
        for (const o of await d.list('')) {
          if (!o.key.endsWith(`/${MANIFEST_NAME}`) || o.key.split('/').length !== 3) continue;
          const m = parseManifest((await d.getBytes(o.key))?.toString('utf8') ?? '');
          if (!m || `${m.environment}/${m.id}/${MANIFEST_NAME}` !== o.key) continue;
          holders.set(m.id, [...(holders.get(m.id) ?? []), d.name]);
          const prev = found.get(m.id);
          // Prefer the copy that carries the newest verification result.
          if (!prev || (m.verified?.at ?? '') > (prev.verified?.at ?? '')) found.set(m.id, m);
        }
      } catch (err) {
        unreachable.push({ name: d.name, error: describeError(err) });
      }
    }
  } finally {
    await closeDestinations(dests);
  }
  const store = await ctx.store();
  const before = new Set((await store.list<BackupManifest>(COLLECTION)).map((d) => d.id));
  const added: string[] = [];
  const damaged: SyncResult['damaged'] = [];
  const configured = new Set(dests.map((d) => d.name));
  for (const [id, m] of found) {
    if (!before.has(id)) added.push(id);
    // A reachable destination that lost its copy of the manifest is reported as damaged and stays
    // in the entry, so verify keeps checking it — never silently dropped from the backup.
    const where = holders.get(id)!;
    const unreachableNames = unreachable.map((u) => u.name);
    for (const n of m.destinations) {
      if (configured.has(n) && !where.includes(n) && !unreachableNames.includes(n)) damaged.push({ id, destination: n, problem: `${MANIFEST_NAME} is missing` });
    }
    await putCatalog(ctx, m);
  }
  const removed: string[] = [];
  // Drop entries whose manifest is gone — only when every destination answered.
  if (unreachable.length === 0) {
    for (const id of before) {
      if (!found.has(id)) {
        await deleteCatalog(ctx, id);
        removed.push(id);
      }
    }
  }
  await ctx.audit({
    action: 'backup.sync-catalog',
    command: 'backup sync-catalog',
    target: '-',
    verdict: unreachable.length || damaged.length ? 'degraded' : 'ok',
    reason: `${found.size} backups found${damaged.length ? `, ${damaged.length} damaged destination cop${damaged.length === 1 ? 'y' : 'ies'}` : ''}`,
    details: { added, removed, unreachable, damaged },
  });
  return { found: found.size, added, removed, unreachable, damaged };
}
