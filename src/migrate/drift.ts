/**
 * `migrate drift`: what the migrations produce vs what production and staging really are. The
 * migrations applied on each environment (per its history) are replayed into a database of a
 * throw-away cluster; its normalised schema is compared with the live one, and every difference
 * (someone changed the environment by hand, a migration edited after it ran, …) is listed.
 */
import type { Context } from '../context.js';
import { connectionUrl, tryConnectionUrl } from '../config/connection.js';
import { createCluster } from '../pg/cluster.js';
import { createSupabaseCluster } from '../supabase/scratch-cluster.js';
import { anySupabase, supabaseSnapshotExclusions } from '../supabase/drift.js';
import { withClient } from '../pg/client.js';
import { readMigrations } from './files.js';
import { envState } from './change.js';
import { historyTarget } from './history.js';
import { applyMigrations } from './apply.js';
import { diffSnapshots, describeDifference, schemaSnapshot, type SchemaDifference } from './snapshot.js';

export interface EnvDrift {
  environment: string;
  /** Migrations replayed for the comparison (those applied on the environment). */
  replayed: number;
  differences: SchemaDifference[];
  lines: string[];
  historyDrift: string[];
}

export async function detectDrift(ctx: Context, opts: { environments?: string[] } = {}): Promise<EnvDrift[]> {
  const { loaded } = ctx;
  const envs =
    opts.environments ??
    Object.entries(loaded.config.environments)
      .filter(([n, e]) => (e.kind === 'production' || e.kind === 'staging') && tryConnectionUrl(loaded, n))
      .map(([n]) => n);
  const { files } = readMigrations(loaded);
  // Supabase hook (src/supabase): replay on a Supabase-like cluster when a target is a Supabase project.
  const supabase = await anySupabase(envs.map((n) => connectionUrl(loaded, n)));
  const cluster = supabase ? await createSupabaseCluster({ name: 'prodguard-drift' }) : await createCluster({ name: 'prodguard-drift' });
  try {
    const out: EnvDrift[] = [];
    let i = 0;
    for (const env of envs) {
      const url = connectionUrl(loaded, env);
      const state = await envState(loaded, env, url);
      const appliedVersions = new Set(state.applied.map((a) => a.version));
      const replay = files.filter((f) => appliedVersions.has(f.version));
      const db = `expected_${i++}`;
      await withClient(cluster.url(), (c) => c.query(`CREATE DATABASE ${db}${supabase ? ' TEMPLATE postgres' : ''}`));
      await applyMigrations(loaded, cluster.url(db), replay, { actor: 'prodguard drift', changeHash: 'drift-replay', history: historyTarget(loaded) });
      const exclude = supabase ? supabaseSnapshotExclusions() : undefined;
      const [expected, actual] = await Promise.all([schemaSnapshot(cluster.url(db), exclude), schemaSnapshot(url, exclude)]);
      const differences = diffSnapshots(expected, actual);
      out.push({
        environment: env,
        replayed: replay.length,
        differences,
        lines: differences.map((d) => describeDifference(d, { expected: 'the migrations', actual: env })),
        historyDrift: state.drift,
      });
    }
    const total = out.reduce((n, e) => n + e.differences.length + e.historyDrift.length, 0);
    await ctx.audit({
      action: 'migrate.drift',
      command: 'prodguard migrate drift',
      target: envs.join(',') || '-',
      verdict: total === 0 ? 'ok' : 'failed',
      reason: total === 0 ? 'no drift' : out.filter((e) => e.lines.length || e.historyDrift.length).map((e) => `${e.environment}: ${[...e.historyDrift, ...e.lines].slice(0, 5).join('; ')}`).join(' | '),
      details: Object.fromEntries(out.map((e) => [e.environment, e.differences.length + e.historyDrift.length])),
    });
    return out;
  } finally {
    await cluster.destroy();
  }
}
