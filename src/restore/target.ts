/**
 * Where a restore goes, and whether it may: `--to` is a configured environment name or a
 * connection string; which environment it really is comes from resolveEnvironment (the one
 * place that knows). Production is refused unless break-glass allows it (src/emergency/restore-gate.ts).
 */
import type { LoadedConfig } from '../config/load.js';
import { connectionUrl, type Env } from '../config/connection.js';
import { resolveEnvironment, type ResolvedEnvironment } from '../config/resolve-environment.js';
import { isConnectionUri, isKeyValueConnInfo, keyValueToUri, parseConnInfo } from '../pg/conninfo.js';
import { RefusedError, UsageError } from '../errors.js';

export interface RestoreTarget {
  /** Connection URL of the target server/database as given. */
  url: string;
  resolved: ResolvedEnvironment;
  /** For messages and audit: the environment name or the masked host/db. */
  label: string;
}

export function resolveRestoreTarget(loaded: LoadedConfig, to: string, env: Env = process.env): RestoreTarget {
  let url: string;
  let resolved: ResolvedEnvironment;
  if (loaded.config.environments[to]) {
    url = connectionUrl(loaded, to, env);
    resolved = resolveEnvironment(loaded, { environment: to }, env);
  } else if (isConnectionUri(to) || isKeyValueConnInfo(to)) {
    // key=value strings become the equivalent URI, so every connection below reaches the same server.
    url = isConnectionUri(to) ? to : keyValueToUri(to, env);
    resolved = resolveEnvironment(loaded, { url }, env);
  } else {
    throw new UsageError(`--to must be a configured environment (${Object.keys(loaded.config.environments).join(', ')}) or a connection string, got "${to}"`, 'restore.bad-target');
  }
  const info = parseConnInfo(url);
  const label = resolved.name ?? (info ? `${info.host}:${info.port}/${info.database}` : 'unknown');
  return { url, resolved, label };
}

/** Restoring over production without a break-glass grant: refuse, and say how. */
export function refuseProduction(t: RestoreTarget): void {
  if (t.resolved.kind === 'production') {
    throw new RefusedError(
      `refusing to restore over production (${t.label}, recognised by ${t.resolved.via}): that needs an active break-glass grant for production (\`prodguard break-glass --env production --reason …\`, then \`restore --replace\`). Restore into a new database elsewhere and compare first`,
      'restore.production',
    );
  }
}
