/**
 * Drift on Supabase: migrations are replayed as `postgres` (not superuser, as on the platform) on a
 * Supabase-like cluster, so migrations that reference auth.users, storage, anon or authenticated
 * replay; the platform-managed schemas are left out of the comparison, because their contents are
 * the platform's version (a real project's auth tables differ from the fixture's), not the project's.
 */
import { ALWAYS_EXCLUDED } from '../migrate/snapshot.js';
import { isSupabaseDatabase } from './restore.js';
import { SUPABASE_MANAGED_SCHEMAS } from './scratch-cluster.js';

export async function anySupabase(urls: string[]): Promise<boolean> {
  for (const u of urls) if (await isSupabaseDatabase(u)) return true;
  return false;
}

export function supabaseSnapshotExclusions(): string[] {
  return [...new Set([...ALWAYS_EXCLUDED, ...SUPABASE_MANAGED_SCHEMAS])];
}
