import type { LoadedConfig } from '../config/load.js';
import { configPath } from '../config/load.js';
import type { StateStore } from './store.js';
import { UsageError } from '../errors.js';

/** Opens the configured state store. better-sqlite3 is imported lazily: the guard hook must start fast. */
export async function openStore(loaded: LoadedConfig, env: Record<string, string | undefined> = process.env): Promise<StateStore> {
  const s = loaded.config.state;
  if (s.store === 'postgres') {
    if (!s.urlEnv) throw new UsageError('state.store: postgres needs state.urlEnv (the variable holding the team store URL)', 'config.invalid');
    const url = env[s.urlEnv];
    if (!url) throw new UsageError(`state.store: postgres: the variable ${s.urlEnv} is not set`, 'config.missing-url');
    const { PostgresStore } = await import('./postgres-store.js');
    return PostgresStore.open(url);
  }
  const { SqliteStore } = await import('./sqlite-store.js');
  return new SqliteStore(configPath(loaded, s.path));
}
