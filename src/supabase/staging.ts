/**
 * Rule 3 on hosted Supabase: `staging refresh` restores a production backup into staging, which a
 * hosted staging project (non-superuser postgres, platform-owned schemas) does not allow and the
 * docs advise against. There, staging "mirrors production" is proven from the two databases
 * instead: the user schemas of staging and production are compared (facts read from both
 * databases, not the config); equal means staging is a faithful place to try a change first.
 */
import type { LoadedConfig } from '../config/load.js';
import { connectionUrl } from '../config/connection.js';
import { diffSnapshots, schemaSnapshot } from '../migrate/snapshot.js';
import { supabaseSnapshotExclusions } from './drift.js';

export interface StagingMirror {
  ok: boolean;
  line: string;
}

/** undefined when this is not a hosted Supabase staging (no supabaseRef) or no production is configured. */
export async function supabaseStagingMirror(loaded: LoadedConfig, staging: string): Promise<StagingMirror | undefined> {
  if (!loaded.config.environments[staging]?.supabaseRef) return undefined;
  const prod = Object.entries(loaded.config.environments).find(([, e]) => e.kind === 'production');
  if (!prod) return undefined;
  const exclude = supabaseSnapshotExclusions();
  const [s, p] = await Promise.all([schemaSnapshot(connectionUrl(loaded, staging), exclude), schemaSnapshot(connectionUrl(loaded, prod[0]), exclude)]);
  const diff = diffSnapshots(p, s);
  if (diff.length === 0) return { ok: true, line: `hosted Supabase staging: its schema matches ${prod[0]}'s (read from both databases; no data refresh needed)` };
  return { ok: false, line: `hosted Supabase staging: its schema differs from ${prod[0]}'s in ${diff.length} object(s), e.g. ${diff[0].key} (apply the pending migrations here, or refresh)` };
}
