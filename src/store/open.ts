import type { LoadedConfig } from '../config/load.js';
import { configPath } from '../config/load.js';
import type { StateStore } from './store.js';
import { UsageError } from '../errors.js';

/** Opens the configured state store. better-sqlite3 is imported lazily: the guard hook must start fast. */
export async function openStore(loaded: LoadedConfig): Promise<StateStore> {
  const s = loaded.config.state;
  if (s.store === 'postgres') {
    throw new UsageError('state.store: postgres is not available yet; use sqlite', 'config.unsupported');
  }
  const { SqliteStore } = await import('./sqlite-store.js');
  return new SqliteStore(configPath(loaded, s.path));
}
