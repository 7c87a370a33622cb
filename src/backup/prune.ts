/**
 * `backup prune`: applies the GFS policy (retention.ts) and removes incomplete leftovers.
 *
 * Deletion order makes an interrupted prune harmless: first the catalog entry, then the manifest
 * on every destination, then the data objects. A kill before the manifests go leaves a complete
 * backup (sync-catalog brings it back); a kill after leaves manifest-less data, which is never
 * listed and is removed as a leftover by the next prune.
 */
import type { Context } from '../context.js';
import { durationMs } from '../config/schema.js';
import { openDestinations, closeDestinations, type Destination } from './destinations/index.js';
import { describeError } from './fan-out.js';
import { deleteCatalog, listBackups } from './catalog.js';
import { decideRetention, type RetentionDecision } from './retention.js';
import { MANIFEST_NAME, backupFolder } from './manifest.js';
import { findLocalLeftovers, removeLocalLeftovers } from './private-dir.js';

export interface PruneOptions {
  dryRun?: boolean;
  /** Leftovers (folders without a manifest, temp files) younger than this are left alone: a backup may be running. */
  graceMs?: number;
  now?: Date;
}

export interface PruneResult {
  dryRun: boolean;
  keep: RetentionDecision['keep'];
  removed: RetentionDecision['remove'];
  leftovers: Array<{ destination: string; key: string }>;
  /** prodguard working directories of crashed runs in the local temp dir (may have held plaintext). */
  localLeftovers: string[];
  /** Side databases of killed staging refreshes dropped on staging's server (`env:database`). */
  databaseLeftovers: string[];
  /** Staging servers that could not be checked for refresh leftovers. */
  databaseErrors: Array<{ environment: string; error: string }>;
  errors: Array<{ destination: string; error: string }>;
}

export const DEFAULT_LEFTOVER_GRACE_MS = 24 * 3600_000;

async function deleteFolder(d: Destination, folder: string): Promise<void> {
  const keys = (await d.list(folder + '/')).map((o) => o.key);
  // Manifest first, whatever order the listing came in.
  const manifest = keys.filter((k) => k.endsWith(`/${MANIFEST_NAME}`));
  for (const k of manifest) await d.delete(k);
  for (const k of keys) if (!manifest.includes(k)) await d.delete(k);
}

export async function pruneBackups(ctx: Context, opts: PruneOptions = {}): Promise<PruneResult> {
  const r = ctx.loaded.config.backup.retention;
  const now = opts.now ?? new Date();
  const decision = decideRetention(await listBackups(ctx), { daily: r.daily, weekly: r.weekly, monthly: r.monthly, minAgeMs: durationMs(r.minAge) }, now);
  const grace = opts.graceMs ?? DEFAULT_LEFTOVER_GRACE_MS;
  const dests = openDestinations(ctx.loaded);
  const errors: PruneResult['errors'] = [];
  const leftovers: PruneResult['leftovers'] = [];
  const catalogIds = new Set((await listBackups(ctx)).map((b) => b.id));
  try {
    // 1. Backups the policy lets go.
    for (const b of decision.remove) {
      if (opts.dryRun) continue;
      await deleteCatalog(ctx, b.id);
      const folder = backupFolder(b.environment, b.id);
      // 1a. every manifest, 1b. then the data.
      for (const d of dests) await d.delete(`${folder}/${MANIFEST_NAME}`).catch((err) => errors.push({ destination: d.name, error: describeError(err) }));
      for (const d of dests) await deleteFolder(d, folder).catch((err) => errors.push({ destination: d.name, error: describeError(err) }));
    }
    // 2. Leftovers: folders without a manifest (killed backups, interrupted prunes) and temp files.
    for (const d of dests) {
      let objects;
      try {
        objects = await d.list('');
      } catch (err) {
        errors.push({ destination: d.name, error: describeError(err) });
        continue;
      }
      const folders = new Map<string, { keys: string[]; newest: number; hasManifest: boolean }>();
      for (const o of objects) {
        const parts = o.key.split('/');
        // pitr/<env>/… is the PITR archive's copy (no backup manifests there): never a leftover.
        if (parts.length < 3 || parts[0] === 'pitr') continue;
        const folder = `${parts[0]}/${parts[1]}`;
        const f = folders.get(folder) ?? { keys: [], newest: 0, hasManifest: false };
        f.keys.push(o.key);
        f.newest = Math.max(f.newest, o.modified.getTime());
        if (o.key === `${folder}/${MANIFEST_NAME}`) f.hasManifest = true;
        folders.set(folder, f);
      }
      for (const [folder, f] of folders) {
        const old = now.getTime() - f.newest > grace;
        const stale = f.hasManifest ? f.keys.filter((k) => k.split('/').pop()!.startsWith('.tmp-')) : f.keys;
        if (!old || stale.length === 0) continue;
        // A folder whose manifest we are about to keep is untouched apart from its temp files.
        if (!f.hasManifest && catalogIds.has(folder.split('/')[1])) continue;
        for (const k of stale) {
          leftovers.push({ destination: d.name, key: k });
          if (!opts.dryRun) await d.delete(k).catch((err) => errors.push({ destination: d.name, error: describeError(err) }));
        }
      }
    }
  } finally {
    await closeDestinations(dests);
  }
  // 3. Local working directories whose prodguard process is gone.
  const local = findLocalLeftovers();
  const localLeftovers = opts.dryRun ? local.filter((l) => !l.running).map((l) => l.path) : removeLocalLeftovers(local, grace, now.getTime());
  // 4. Databases of killed staging refreshes (a private copy may hold unmasked production rows).
  const { findRefreshLeftovers } = await import('../migrate/refresh-leftovers.js');
  const refresh = await findRefreshLeftovers(ctx.loaded, { drop: !opts.dryRun });
  const databaseLeftovers = opts.dryRun ? refresh.databases.map((d) => `${d.environment}:${d.database}`) : refresh.dropped;
  // A staging server that is down does not make pruning backups fail: its leftovers wait for the next prune or refresh.
  const databaseErrors = refresh.errors;
  await ctx.audit({
    action: 'backup.prune',
    command: `backup prune${opts.dryRun ? ' --dry-run' : ''}`,
    target: '-',
    verdict: opts.dryRun ? 'dry-run' : errors.length ? 'degraded' : 'ok',
    reason: `${decision.remove.length} backups ${opts.dryRun ? 'would be' : ''} removed, ${decision.keep.length} kept, ${leftovers.length} leftover objects`,
    details: { removed: decision.remove.map((b) => b.id), leftovers: leftovers.length, localLeftovers, databaseLeftovers, databaseErrors, errors },
  });
  return { dryRun: !!opts.dryRun, keep: decision.keep, removed: decision.remove, leftovers, localLeftovers, databaseLeftovers, databaseErrors, errors };
}
