/**
 * Supabase-like throw-away clusters: a real PostgreSQL cluster initialised with prodguard's own
 * Supabase-like SQL (src/supabase/init-sql.ts, modelled on Supabase's documented roles and schemas):
 * bootstrap superuser `supabase_admin`, `postgres` owning the database but NOT superuser (as on the
 * hosted platform), the API roles and their default grants, the managed schemas. wal_level is logical.
 *
 * Used by tests (the Supabase fixture) and by the product: backup verify, restore drills and drift
 * replay restore/replay a Supabase dump into one of these instead of a plain cluster, so managed
 * schemas, roles and default grants a Supabase dump refers to exist.
 *
 * Stand-ins for what Debian's PostgreSQL lacks (see docs/supabase.md, "What the fixture cannot show"):
 * pgjwt (SQL functions extensions.sign/verify), vault (an unencrypted `secrets` table), pgsodium's
 * roles (plain NOLOGIN roles), pg_graphql (schemas and a function that answers with an error).
 * pg_net, pg_cron, supautils and the GoTrue/Storage servers are absent. The auth/storage tables have
 * a realistic but not current column set; a dump of a real project carries its own definitions, and
 * verify/drill drop the scratch's managed schemas before restoring, so restores are not affected.
 */
import { createCluster, type Cluster, type ClusterOptions } from '../pg/cluster.js';
import { withClient } from '../pg/client.js';
import { ProdguardError, errorMessage } from '../errors.js';
import { SUPABASE_INIT_SOURCE, SUPABASE_INIT_STEPS } from './init-sql.js';

export { SUPABASE_INIT_SOURCE };

/** The schemas a Supabase project manages itself (never user data of the project's own schema). */
export const SUPABASE_MANAGED_SCHEMAS = [
  'auth', 'storage', 'realtime', '_realtime', 'vault', 'graphql', 'graphql_public', 'extensions', 'supabase_migrations',
  'supabase_functions', 'pgsodium', 'pgsodium_masks', 'net', 'cron', 'pgbouncer', '_analytics', 'pgtle', 'tiger', 'topology',
] as const;

/** Roles every Supabase project has (created by the platform, not by the project's migrations). */
export const SUPABASE_PLATFORM_ROLES = [
  'supabase_admin', 'postgres', 'anon', 'authenticated', 'service_role', 'authenticator', 'supabase_auth_admin',
  'supabase_storage_admin', 'supabase_replication_admin', 'supabase_read_only_user', 'dashboard_user', 'pgbouncer',
  'supabase_realtime_admin', 'supabase_functions_admin', 'pgsodium_keyholder', 'pgsodium_keyiduser', 'pgsodium_keymaker',
] as const;

async function run(url: string, name: string, sql: string) {
  await withClient(url, (c) => c.query(sql)).catch((err) => {
    throw new ProdguardError(`Supabase-like initialisation step "${name}" failed: ${errorMessage(err)}`, { code: 'supabase.init' });
  });
}

/** Applies prodguard's Supabase-like initialisation to a freshly initdb'ed cluster whose bootstrap user is supabase_admin. */
export async function applySupabaseInit(cluster: Cluster): Promise<void> {
  const admin = cluster.url('postgres', 'supabase_admin');
  for (const s of SUPABASE_INIT_STEPS) await run(admin, s.name, s.sql);
}

/**
 * Creates a Supabase-like throw-away cluster. Its `url()` connects as `postgres` (the project owner,
 * not superuser, like the hosted connection string); `url(db, 'supabase_admin')` is the superuser.
 */
export async function createSupabaseCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const cluster = await createCluster({
    name: 'prodguard-supabase',
    ...opts,
    bootstrapUser: 'supabase_admin',
    settings: { wal_level: 'logical', max_wal_senders: 10, max_replication_slots: 10, ...opts.settings },
  });
  try {
    await applySupabaseInit(cluster);
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
  return cluster;
}
