/**
 * Where prodguard.yaml is: in this directory or the nearest parent. Node built-ins only, so the
 * hook's resident-process key (guard/daemon/key.ts) finds it without loading YAML and the schema.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const CONFIG_FILE = 'prodguard.yaml';

export function findConfigFile(cwd: string = process.cwd()): string | null {
  let dir = resolve(cwd);
  for (;;) {
    const candidate = join(dir, CONFIG_FILE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}
