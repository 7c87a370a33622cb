/**
 * The backup catalog: manifests in the state store (collection 'backups'). It is a cache — the
 * destinations' manifests are the truth, and `backup sync-catalog` rebuilds it from them alone.
 * Only complete backups (manifest written) ever enter it.
 */
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import type { BackupManifest } from './manifest.js';

export const COLLECTION = 'backups';

export async function putCatalog(ctx: Context, m: BackupManifest): Promise<void> {
  await (await ctx.store()).put(COLLECTION, m.id, m);
}

export async function deleteCatalog(ctx: Context, id: string): Promise<void> {
  await (await ctx.store()).delete(COLLECTION, id);
}

/** Complete backups, newest first. */
export async function listBackups(ctx: Context, opts: { env?: string } = {}): Promise<BackupManifest[]> {
  const store = await ctx.store();
  const docs = await store.list<BackupManifest>(COLLECTION, opts.env ? { where: { environment: opts.env } } : {});
  return docs.map((d) => d.doc).sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : a.id < b.id ? 1 : -1));
}

/** A backup by id, or the newest ('latest', optionally per environment); UsageError if unknown. */
export async function getBackup(ctx: Context, idOrLatest: string, opts: { env?: string } = {}): Promise<BackupManifest> {
  if (idOrLatest === 'latest') {
    const all = await listBackups(ctx, opts);
    if (all.length === 0) throw new UsageError(`no backups${opts.env ? ` of "${opts.env}"` : ''} in the catalog (run \`prodguard backup create\`, or \`prodguard backup sync-catalog\` if the state store was lost)`, 'backup.none');
    return all[0];
  }
  const m = await (await ctx.store()).get<BackupManifest>(COLLECTION, idOrLatest);
  if (!m || (opts.env && m.environment !== opts.env)) {
    throw new UsageError(`unknown backup "${idOrLatest}"${opts.env ? ` for environment "${opts.env}"` : ''} (see \`prodguard backup list\`)`, 'backup.unknown');
  }
  return m;
}

/** The newest backup of `env` whose last verification passed, optionally no older than maxAgeMs. */
export async function latestVerifiedBackup(ctx: Context, env: string, maxAgeMs?: number): Promise<BackupManifest | null> {
  const now = Date.now();
  for (const m of await listBackups(ctx, { env })) {
    if (!m.verified?.ok) continue;
    if (maxAgeMs !== undefined && now - Date.parse(m.finishedAt) > maxAgeMs) return null;
    return m;
  }
  return null;
}
