/**
 * Rule 3 on hosted Supabase: a staging project that is never refreshed with production's data
 * (applying migrations plus seed data is the common way on the platform) proves that it mirrors
 * production from the two databases instead: the user schemas of staging and production are
 * compared (facts read from both databases, not the config); equal means staging is a faithful
 * place to try a change first. Staging ahead by migrations awaiting deploy is expected.
 */
import type { LoadedConfig } from '../config/load.js';
import type { StagingSchemaComparison } from '../status/staging-schema.js';

export interface StagingMirror {
  ok: boolean;
  line: string;
}

/**
 * undefined when this is not a hosted Supabase staging (no supabaseRef) or no production is
 * configured. `c` is the comparison status made (src/status/staging-schema.ts), or why it could not.
 */
export function supabaseStagingMirror(loaded: LoadedConfig, staging: string, c: StagingSchemaComparison | undefined, error?: string): StagingMirror | undefined {
  if (!loaded.config.environments[staging]?.supabaseRef) return undefined;
  if (error) return { ok: false, line: `cannot compare with production: ${error}` };
  if (!c) return undefined;
  const prod = c.production;
  if (c.differences.length === 0) return { ok: true, line: `hosted Supabase staging: its schema matches ${prod}'s (read from both databases; no data refresh needed)` };
  if (c.ahead.length) return { ok: true, line: `hosted Supabase staging: its schema differs from ${prod}'s in ${c.differences.length} object(s), ahead by ${c.ahead.length} migration(s) awaiting deploy (${c.ahead.join(', ')})` };
  return { ok: false, line: `hosted Supabase staging: its schema differs from ${prod}'s in ${c.differences.length} object(s), e.g. ${c.examples[0]} (apply the pending migrations here, or refresh)` };
}
