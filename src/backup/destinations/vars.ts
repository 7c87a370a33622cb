/**
 * Destinations named by variables: `bucket: ${PRODGUARD_BACKUP_BUCKET}`, `path: ${PRODGUARD_BACKUP_DIR}`,
 * `endpoint: ${PRODGUARD_BACKUP_S3_ENDPOINT}`. `init` writes these instead of a placeholder bucket or
 * a folder inside the project; an unset variable is a one-line usage error naming it, never a
 * backup to a literal "${…}" folder.
 */
import type { Destination as DestinationConfig } from '../../config/schema.js';
import { UsageError } from '../../errors.js';

const REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function expandVars(value: string, env: Record<string, string | undefined>, what: string): string {
  return value.replace(REF, (_m, name: string) => {
    const v = env[name];
    if (!v) throw new UsageError(`${what}: set ${name} (prodguard.yaml names it as \${${name}})`, 'backup.destination-variable');
    return v;
  });
}

export function expandDestination(d: DestinationConfig, env: Record<string, string | undefined> = process.env): DestinationConfig {
  const what = `destination "${d.name}"`;
  if (d.type === 'local') return { ...d, path: expandVars(d.path, env, what) };
  return { ...d, bucket: expandVars(d.bucket, env, what), ...(d.endpoint ? { endpoint: expandVars(d.endpoint, env, what) } : {}) };
}

/** Like expandDestination, but leaves unset variables as they are (for status descriptions). */
export function expandDestinationLenient(d: DestinationConfig, env: Record<string, string | undefined> = process.env): DestinationConfig {
  try {
    return expandDestination(d, env);
  } catch {
    return d;
  }
}
