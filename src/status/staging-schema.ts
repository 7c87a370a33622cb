/**
 * Rule 3's "staging is an exact replica": staging's schema against production's, both read from
 * the databases' catalogs (never from local files, which anyone can edit). An added column or a
 * dropped index in staging shows as drift. When staging is ahead of production by migrations that
 * passed there and await deploy, differences are expected and shown as such, not as drift.
 * On Supabase (either database has auth and the API roles) the platform-managed schemas are left
 * out: their contents are the platform's version, not the project's.
 */
import type { LoadedConfig } from '../config/load.js';
import { tryConnectionUrl } from '../config/connection.js';
import { ALWAYS_EXCLUDED, describeDifference, diffSnapshots, schemaSnapshot, type SchemaDifference } from '../migrate/snapshot.js';
import { anySupabase, supabaseSnapshotExclusions } from '../supabase/drift.js';

export interface StagingSchemaComparison {
  production: string;
  differences: SchemaDifference[];
  /** Migrations applied in staging, not yet in production (they explain differences). */
  ahead: string[];
  /** First differences, readable. */
  examples: string[];
}

/** undefined when no production environment is configured. Throws when a database cannot be read. */
export async function compareStagingSchema(loaded: LoadedConfig, staging: string): Promise<StagingSchemaComparison | undefined> {
  const prod = Object.entries(loaded.config.environments).find(([, e]) => e.kind === 'production')?.[0];
  if (!prod) return undefined;
  const sUrl = tryConnectionUrl(loaded, staging);
  const pUrl = tryConnectionUrl(loaded, prod);
  if (!sUrl) throw new Error(`no connection to ${staging} configured here`);
  if (!pUrl) throw new Error(`no connection to ${prod} available here to compare with`);
  const exclude = (await anySupabase([sUrl, pUrl])) ? supabaseSnapshotExclusions() : ALWAYS_EXCLUDED;
  const [s, p] = await Promise.all([schemaSnapshot(sUrl, exclude), schemaSnapshot(pUrl, exclude)]);
  const differences = diffSnapshots(p, s);
  let ahead: string[] = [];
  if (differences.length) {
    const { envState } = await import('../migrate/change.js');
    const [ps, ss] = await Promise.all([envState(loaded, prod, pUrl), envState(loaded, staging, sUrl)]);
    const stagingPending = new Set(ss.pending.map((m) => m.file));
    ahead = ps.pending.map((m) => m.file).filter((f) => !stagingPending.has(f));
  }
  return { production: prod, differences, ahead, examples: differences.slice(0, 3).map((d) => describeDifference(d, { expected: prod, actual: staging })) };
}

/** One status line and its verdict: equal, explained by migrations awaiting deploy, or drift. */
export function stagingSchemaLine(c: StagingSchemaComparison): { state: 'ok' | 'failing'; line: string } {
  if (c.differences.length === 0) return { state: 'ok', line: `schema matches ${c.production}'s (read from both databases)` };
  const n = `${c.differences.length} object(s)`;
  if (c.ahead.length) return { state: 'ok', line: `schema differs from ${c.production}'s in ${n}, ahead by ${c.ahead.length} migration(s) awaiting deploy (${c.ahead.join(', ')})` };
  return { state: 'failing', line: `schema DRIFT against ${c.production} (read from both databases) in ${n}: ${c.examples.join('; ')}${c.differences.length > 3 ? '; …' : ''} (refresh staging, or find who changed it by hand)` };
}
