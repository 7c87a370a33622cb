/** Things in a valid config that will still bite: reported by `config check` as warnings, not errors. */
import type { Config } from './schema.js';
import { describeMissing, missingVariables } from './missing-variables.js';

export function configWarnings(config: Config, env: Record<string, string | undefined>): string[] {
  const out: string[] = [];
  for (const [name, e] of Object.entries(config.environments)) {
    if (!e.urlEnv && !e.urlFile) out.push(`environment "${name}" has no urlEnv or urlFile`);
    else if (e.urlEnv && !env[e.urlEnv]) out.push(`environment "${name}": variable ${e.urlEnv} is not set in this shell`);
  }
  if (config.backup.destinations.length < 2) out.push(`backup.destinations has ${config.backup.destinations.length}; rule 2 wants copies in at least two independent places`);
  if (!config.backup.encryption.noEncrypt && config.backup.encryption.recipients.length === 0) out.push('backup.encryption.recipients is empty; backups cannot be encrypted (add an age public key or set noEncrypt: true)');
  // Every unset variable the destinations and the key name, at once (src/config/missing-variables.ts).
  const missing = missingVariables(config, env);
  if (missing.length) out.push(`${missing.length} variable(s) named in prodguard.yaml are not set in this shell: ${describeMissing(missing)}`);
  const seniors = config.team.filter((m) => m.role === 'senior');
  if (seniors.length < 2) out.push(`team has ${seniors.length} senior member(s); production changes need two senior approvers`);
  return out;
}
