/** Opens the destinations configured in backup.destinations. */
import type { LoadedConfig } from '../../config/load.js';
import { configPath } from '../../config/load.js';
import { UsageError } from '../../errors.js';
import { localDestination } from './local.js';
import { s3Destination } from './s3.js';
import { expandDestination } from './vars.js';
import type { Destination } from './types.js';

export type { Destination } from './types.js';

export function openDestinations(loaded: LoadedConfig, env: Record<string, string | undefined> = process.env): Destination[] {
  const list = loaded.config.backup.destinations;
  if (list.length === 0) {
    throw new UsageError('no backup destinations: add at least one (ideally two) to backup.destinations in prodguard.yaml', 'backup.no-destinations');
  }
  const names = new Set<string>();
  return list.map((d) => {
    if (names.has(d.name)) throw new UsageError(`backup destination name "${d.name}" is used twice`, 'backup.destination-name');
    names.add(d.name);
    d = expandDestination(d, env); // ${VAR} in path/bucket/endpoint (src/backup/destinations/vars.ts)
    return d.type === 'local' ? localDestination(d.name, configPath(loaded, d.path)) : s3Destination(d, env);
  });
}

export async function closeDestinations(dests: Destination[]): Promise<void> {
  await Promise.all(dests.map((d) => d.close().catch(() => {})));
}
