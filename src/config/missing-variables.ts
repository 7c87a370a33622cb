/**
 * Every variable a valid prodguard.yaml names that this shell does not set, in one list: the
 * `${VAR}`s of the backup destinations (bucket, path, endpoint), their credentials, and the age
 * identity verify and restore need. `config check` and `doctor` report all of them at once, so a
 * new user fixes the environment in one pass instead of one error per run. Names only, never values.
 */
import type { Config } from './schema.js';

const REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export interface MissingVariable {
  name: string;
  /** What needs it, e.g. `destination "offsite" bucket`. */
  for: string;
}

export function missingVariables(config: Config, env: Record<string, string | undefined>): MissingVariable[] {
  const out: MissingVariable[] = [];
  const need = (name: string, what: string) => {
    if (!env[name] && !out.some((m) => m.name === name)) out.push({ name, for: what });
  };
  for (const d of config.backup.destinations) {
    const fields: Array<[string, string | undefined]> = d.type === 'local' ? [['path', d.path]] : [['bucket', d.bucket], ['endpoint', d.endpoint]];
    for (const [field, value] of fields) for (const m of (value ?? '').matchAll(REF)) need(m[1], `destination "${d.name}" ${field}`);
    if (d.type === 's3') {
      need(d.accessKeyIdEnv, `destination "${d.name}" access key`);
      need(d.secretAccessKeyEnv, `destination "${d.name}" secret key`);
    }
  }
  // An identity file, when configured, is the other place the identity may come from (red team w5d).
  if (!config.backup.encryption.noEncrypt && !config.backup.encryption.identityFile) need(config.backup.encryption.identityEnv, 'the age identity backup verify and restore decrypt with');
  return out;
}

export function describeMissing(list: MissingVariable[]): string {
  return list.map((m) => `${m.name} (${m.for})`).join(', ');
}
