/**
 * Whether backup destinations are independent places. Two folders on one disk are one place: the
 * disk (or the machine) dies and both copies go with it. A local destination's place is the
 * filesystem device of its nearest existing directory; an S3-compatible one's is its endpoint host
 * (AWS when none) and bucket.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import type { Destination } from '../config/schema.js';
import { expandDestinationLenient } from '../backup/destinations/vars.js';

function deviceOf(path: string): string {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  try {
    return String(statSync(p).dev);
  } catch {
    return 'unknown';
  }
}

export function placeOf(loaded: LoadedConfig, raw: Destination): string {
  const d = expandDestinationLenient(raw);
  if (d.type === 'local') return `local disk (device ${deviceOf(isAbsolute(d.path) ? d.path : resolve(loaded.root, d.path))})`;
  let host = 'aws';
  if (d.endpoint) {
    try {
      host = new URL(d.endpoint).host;
    } catch {
      host = d.endpoint;
    }
  }
  return `s3 ${host}/${d.bucket}`;
}

/** The distinct places, and which destinations share one. */
export function destinationPlaces(loaded: LoadedConfig): { places: Map<string, string[]>; independent: number } {
  const places = new Map<string, string[]>();
  for (const d of loaded.config.backup.destinations) {
    const k = placeOf(loaded, d);
    places.set(k, [...(places.get(k) ?? []), d.name]);
  }
  return { places, independent: places.size };
}
