/**
 * Which server a connection really reaches: its system identifier (unique per cluster, from
 * pg_control, the same whether reached by host name, localhost, an IP, a Unix socket or a
 * key=value string) and the database. "Never restore onto production" compares these facts,
 * read from the servers, not URL spellings.
 *
 * Production's identity comes from the live production server when its URL is available, and
 * from every backup of production (each manifest records the system identifier it was taken
 * from), so the check holds even where production's credentials are absent.
 */
import type { Context } from '../context.js';
import { tryConnectionUrl } from '../config/connection.js';
import { withClient } from '../pg/client.js';
import { RefusedError, errorMessage } from '../errors.js';
import { listBackups } from '../backup/catalog.js';

export interface ServerIdentity {
  systemIdentifier: string;
  database: string;
}

export const SERVER_IDENTITY_SQL = `SELECT (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier, current_database() AS database`;

export async function readServerIdentity(url: string): Promise<ServerIdentity> {
  return withClient(url, async (c) => {
    const r = (await c.query<{ system_identifier: string | null; database: string }>(SERVER_IDENTITY_SQL)).rows[0];
    if (!r.system_identifier) throw new RefusedError('the server does not report its system identifier', 'restore.identity-unknown');
    return { systemIdentifier: r.system_identifier, database: r.database };
  });
}

export interface ProductionIdentity {
  environment: string;
  systemIdentifiers: Set<string>;
  /** Where each identifier came from, for the refusal message. */
  sources: string[];
}

/** Every system identifier production is known by: live server (if reachable) + its backups' manifests. */
export async function productionIdentities(ctx: Context, env: Record<string, string | undefined> = process.env): Promise<ProductionIdentity[]> {
  const out: ProductionIdentity[] = [];
  for (const [name, e] of Object.entries(ctx.loaded.config.environments)) {
    if (e.kind !== 'production') continue;
    const p: ProductionIdentity = { environment: name, systemIdentifiers: new Set(), sources: [] };
    const url = tryConnectionUrl(ctx.loaded, name, env);
    if (url) {
      const live = await readServerIdentity(url).catch(() => null);
      if (live) {
        p.systemIdentifiers.add(live.systemIdentifier);
        p.sources.push('the live server');
      }
    }
    for (const m of await listBackups(ctx, { env: name })) {
      if (m.systemIdentifier && !p.systemIdentifiers.has(m.systemIdentifier)) {
        p.systemIdentifiers.add(m.systemIdentifier);
        p.sources.push(`backup ${m.id}`);
      }
    }
    out.push(p);
  }
  return out;
}

/**
 * Refuses any restore onto a production server (any database on it): that needs break-glass,
 * which does not exist yet. The target's identity must be readable — a target we cannot
 * identify is refused too (fail closed).
 */
export async function refuseProductionServer(ctx: Context, targetUrl: string, label: string, env?: Record<string, string | undefined>): Promise<ServerIdentity> {
  let target: ServerIdentity;
  try {
    target = await readServerIdentity(targetUrl);
  } catch (err) {
    throw new RefusedError(`cannot establish which server ${label} is (its system identifier), so prodguard cannot rule out production: ${errorMessage(err)}`, 'restore.identity-unknown', err);
  }
  for (const p of await productionIdentities(ctx, env)) {
    if (p.systemIdentifiers.has(target.systemIdentifier)) {
      throw new RefusedError(
        `refusing to restore onto production's server: ${label} is the PostgreSQL server of environment "${p.environment}" (system identifier ${target.systemIdentifier}, recognised from ${p.sources[0]}), whatever database or address is named. That needs an active break-glass grant for production (\`prodguard break-glass --env production --reason …\`, then \`restore --replace\`). Restore onto another server and compare first`,
        'restore.production',
      );
    }
  }
  return target;
}
