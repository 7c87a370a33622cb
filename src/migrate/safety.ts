/** Refuses to treat a connection that is (or may be) production as staging. */
import type { LoadedConfig } from '../config/load.js';
import { tryConnectionUrl } from '../config/connection.js';
import { resolveEnvironment } from '../config/resolve-environment.js';
import { parseConnInfo, sameDatabase } from '../pg/conninfo.js';
import { RefusedError } from '../errors.js';

export function assertNotProduction(loaded: LoadedConfig, envName: string, url: string, what: string): void {
  const e = loaded.config.environments[envName];
  if (e?.kind === 'production') throw new RefusedError(`${what}: "${envName}" is a production environment; refusing`, 'migrate.production-target');
  const info = parseConnInfo(url);
  if (!info) throw new RefusedError(`${what}: cannot parse the connection of "${envName}"`, 'migrate.bad-url');
  const byUrl = resolveEnvironment(loaded, { url });
  if (byUrl.kind === 'production') throw new RefusedError(`${what}: "${envName}"'s connection resolves to production (${byUrl.via}); refusing`, 'migrate.production-target');
  for (const [name, pe] of Object.entries(loaded.config.environments)) {
    if (pe.kind !== 'production') continue;
    const pu = tryConnectionUrl(loaded, name);
    const p = pu ? parseConnInfo(pu) : null;
    if (!p) continue;
    if (sameDatabase(p, info)) {
      throw new RefusedError(`${what}: "${envName}" points at the same database as production environment "${name}"; refusing`, 'migrate.production-target');
    }
  }
}
