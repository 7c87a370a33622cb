/**
 * A change: the ordered migrations still pending on a target environment, with one hash over
 * (their names and content hashes, and the target). Approvals sign this hash, so editing any
 * migration of the change — or aiming it at another environment — voids them.
 */
import type { LoadedConfig } from '../config/load.js';
import { connectionUrl, requireEnvironment } from '../config/connection.js';
import { withClient } from '../pg/client.js';
import { UsageError } from '../errors.js';
import { readMigrations, sha256, type MigrationFile } from './files.js';
import { historyTarget, readApplied, type AppliedMigration } from './history.js';

export interface ChangeMigration {
  file: string;
  sha256: string;
}

export interface Change {
  environment: string;
  /** sha256 over the canonical {environment, migrations}. */
  hash: string;
  migrations: MigrationFile[];
}

export interface EnvState {
  environment: string;
  applied: AppliedMigration[];
  pending: MigrationFile[];
  /** Applied versions whose file is gone, or whose file changed after it was applied. */
  drift: string[];
  change: Change;
}

export function changeHash(environment: string, migrations: ChangeMigration[]): string {
  return sha256(JSON.stringify({ environment, migrations: migrations.map((m) => ({ file: m.file, sha256: m.sha256 })) }));
}

export function makeChange(environment: string, migrations: MigrationFile[]): Change {
  return { environment, migrations, hash: changeHash(environment, migrations) };
}

export function requireEnv(loaded: LoadedConfig, env: string | undefined, kind?: 'staging' | 'production'): string {
  if (!env) throw new UsageError('--env is required', 'usage');
  const e = requireEnvironment(loaded, env);
  if (kind && e.kind !== kind) throw new UsageError(`environment "${env}" has kind ${e.kind}, this needs a ${kind} environment`, 'env.kind');
  return env;
}

/** The one environment of a kind (or the named one). */
export function envOfKind(loaded: LoadedConfig, kind: 'staging' | 'production', named?: string): string {
  if (named) return requireEnv(loaded, named, kind);
  const found = Object.entries(loaded.config.environments).filter(([, e]) => e.kind === kind).map(([n]) => n);
  if (found.length === 0) throw new UsageError(`no environment with kind: ${kind} is configured`, 'env.missing');
  if (found.length > 1) throw new UsageError(`several ${kind} environments (${found.join(', ')}): name one with --env`, 'env.ambiguous');
  return found[0];
}

export function computeState(environment: string, files: MigrationFile[], applied: AppliedMigration[]): EnvState {
  const byVersion = new Map(applied.map((a) => [a.version, a]));
  const pending = files.filter((f) => !byVersion.has(f.version));
  const drift: string[] = [];
  const fileVersions = new Map(files.map((f) => [f.version, f]));
  for (const a of applied) {
    const f = fileVersions.get(a.version);
    if (!f) drift.push(`${a.version}${a.name ? '_' + a.name : ''} is applied but has no migration file`);
    else if (a.sha256 && a.sha256 !== f.sha256) drift.push(`${f.file} changed after it was applied (applied sha256 ${a.sha256.slice(0, 12)}, file ${f.sha256.slice(0, 12)})`);
  }
  const lastApplied = applied.length ? applied[applied.length - 1].version : null;
  for (const p of pending) {
    if (lastApplied && p.version.length === lastApplied.length && p.version < lastApplied) {
      drift.push(`${p.file} is older than the newest applied migration ${lastApplied} but was never applied`);
    }
  }
  return { environment, applied, pending, drift, change: makeChange(environment, pending) };
}

/** Reads the files and the target's history: applied, pending, drift and the pending change. */
export async function envState(loaded: LoadedConfig, environment: string, url = connectionUrl(loaded, environment)): Promise<EnvState> {
  const { files } = readMigrations(loaded);
  const t = historyTarget(loaded);
  const applied = await withClient(url, (c) => readApplied(c, t));
  return computeState(environment, files, applied);
}
