/**
 * The connection URL of a configured environment. URLs live in environment variables or files,
 * never in prodguard.yaml, so a leaked config file leaks no password.
 */
import { readFileSync } from 'node:fs';
import type { LoadedConfig } from './load.js';
import { configPath } from './load.js';
import { UsageError } from '../errors.js';

export type Env = Record<string, string | undefined>;

export function environmentNames(loaded: LoadedConfig): string[] {
  return Object.keys(loaded.config.environments);
}

export function requireEnvironment(loaded: LoadedConfig, name: string) {
  const env = loaded.config.environments[name];
  if (!env) {
    throw new UsageError(`unknown environment "${name}"; configured: ${environmentNames(loaded).join(', ')}`, 'env.unknown');
  }
  return env;
}

/** The environment's URL, or a one-line error naming the variable or file that is missing. */
export function connectionUrl(loaded: LoadedConfig, name: string, env: Env = process.env): string {
  const e = requireEnvironment(loaded, name);
  if (e.urlEnv) {
    const v = env[e.urlEnv];
    if (!v) throw new UsageError(`environment "${name}": variable ${e.urlEnv} is not set (it should hold the connection URL)`, 'env.url-missing');
    return v.trim();
  }
  if (e.urlFile) {
    const file = configPath(loaded, e.urlFile);
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new UsageError(`environment "${name}": cannot read connection file ${file} (${(err as NodeJS.ErrnoException).code})`, 'env.url-missing');
    }
  }
  throw new UsageError(`environment "${name}" has no urlEnv or urlFile in prodguard.yaml`, 'env.url-missing');
}

/** Like connectionUrl but returns null instead of throwing when it is not available. */
export function tryConnectionUrl(loaded: LoadedConfig, name: string, env: Env = process.env): string | null {
  try {
    return connectionUrl(loaded, name, env);
  } catch {
    return null;
  }
}
