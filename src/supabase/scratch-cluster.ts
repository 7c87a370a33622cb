/**
 * Supabase-like throw-away clusters: a real PostgreSQL cluster initialised the way Supabase's own
 * image initialises a project database (github.com/supabase/postgres, migrations/db/migrate.sh):
 * bootstrap superuser `supabase_admin`, role `postgres` created as superuser, Supabase's init
 * scripts run as `postgres`, then Supabase's migrations run as `supabase_admin` — the first of
 * which demotes `postgres` to NOSUPERUSER, as on the hosted platform. wal_level is logical.
 *
 * Used by tests (the Supabase fixture) and by the product: backup verify, restore drills and drift
 * replay restore/replay a Supabase dump into one of these instead of a plain cluster, so managed
 * schemas, roles and default grants a Supabase dump refers to exist.
 *
 * Stand-ins for what Debian's PostgreSQL lacks (see docs/supabase.md, "What the fixture cannot show"):
 * - pgjwt: the unconditional `create extension pgjwt` is replaced by SQL functions
 *   extensions.sign/verify with the same signatures (HS256/384/512 via pgcrypto's hmac).
 * - supabase_vault / pgsodium: a `vault` schema with a `secrets` table of the same columns; the
 *   secret column is NOT encrypted (pgsodium's transparent encryption cannot be shown).
 * - pgsodium's roles (pgsodium_keyiduser/keyholder/keymaker) are created as plain NOLOGIN roles.
 * - supabase_migrations: the schema the Supabase CLI creates (schema_migrations, seed_files).
 * - pg_graphql, pg_net, pg_cron, supautils: Supabase's migrations already skip them when they are not
 *   available, exactly as on a project where they are disabled; no stand-in.
 * - GoTrue/Storage API own migrations: the auth/storage tables are those of the init scripts (an
 *   older column set than a current project); a dump taken from a current project carries its own
 *   table definitions, so restores are not affected.
 */
import { createCluster, type Cluster, type ClusterOptions } from '../pg/cluster.js';
import { withClient } from '../pg/client.js';
import { ProdguardError } from '../errors.js';
import { SUPABASE_INIT_SCRIPTS, SUPABASE_POSTGRES_COMMIT } from './init-sql.generated.js';

export { SUPABASE_POSTGRES_COMMIT };

const PGJWT_LINE = /create extension if not exists pgjwt\s+with schema extensions;/i;

/** pgjwt's public functions, in SQL, for clusters without the extension (why: see file comment). */
export const PGJWT_STANDIN = `
create or replace function extensions.url_encode(data bytea) returns text language sql immutable as $$
  select translate(encode(data, 'base64'), E'+/=\\n', '-_');
$$;
create or replace function extensions.url_decode(data text) returns bytea language sql immutable as $$
  with t as (select translate(data, '-_', '+/') as trans),
       rem as (select length(t.trans) % 4 as remainder from t)
  select decode(t.trans || case when rem.remainder > 0 then repeat('=', (4 - rem.remainder)) else '' end, 'base64') from t, rem;
$$;
create or replace function extensions.algorithm_sign(signables text, secret text, algorithm text) returns text language sql immutable as $$
  with alg as (select case when algorithm = 'HS256' then 'sha256' when algorithm = 'HS384' then 'sha384' when algorithm = 'HS512' then 'sha512' else '' end as id)
  select extensions.url_encode(extensions.hmac(signables, secret, alg.id)) from alg;
$$;
create or replace function extensions.sign(payload json, secret text, algorithm text default 'HS256') returns text language sql immutable as $$
  with header as (select extensions.url_encode(convert_to('{"alg":"' || algorithm || '","typ":"JWT"}', 'utf8')) as data),
       payload as (select extensions.url_encode(convert_to(payload::text, 'utf8')) as data),
       signables as (select header.data || '.' || payload.data as data from header, payload)
  select signables.data || '.' || extensions.algorithm_sign(signables.data, secret, algorithm) from signables;
$$;
create or replace function extensions.verify(token text, secret text, algorithm text default 'HS256')
returns table(header json, payload json, valid boolean) language sql immutable as $$
  select convert_from(extensions.url_decode(r[1]), 'utf8')::json,
         convert_from(extensions.url_decode(r[2]), 'utf8')::json,
         r[3] = extensions.algorithm_sign(r[1] || '.' || r[2], secret, algorithm)
  from regexp_split_to_array(token, '\\.') r;
$$;
`;

/** Schemas the Supabase CLI and vault create that Debian's PostgreSQL cannot (stand-ins, see above). */
const PLATFORM_STANDINS = `
create schema if not exists vault;
create table if not exists vault.secrets (
  id uuid primary key default extensions.gen_random_uuid(),
  name text unique,
  description text not null default '',
  secret text not null,
  key_id uuid,
  nonce bytea,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create or replace view vault.decrypted_secrets as select *, secret as decrypted_secret from vault.secrets;
grant usage on schema vault to postgres with grant option;
grant all on all tables in schema vault to postgres with grant option;

create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (version text primary key, statements text[], name text);
create table if not exists supabase_migrations.seed_files (path text primary key, hash text not null);
grant all on schema supabase_migrations to postgres;
grant all on all tables in schema supabase_migrations to postgres;
`;

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

function upPart(sql: string): string {
  const down = sql.search(/^--\s*migrate:down/im);
  return down >= 0 ? sql.slice(0, down) : sql;
}

async function run(url: string, name: string, sql: string) {
  await withClient(url, (c) => c.query(sql)).catch((err) => {
    throw new ProdguardError(`Supabase init script ${name} failed: ${(err as Error).message}`, { code: 'supabase.init' });
  });
}

/** Applies Supabase's initialisation to a freshly initdb'ed cluster whose bootstrap user is supabase_admin. */
export async function applySupabaseInit(cluster: Cluster): Promise<void> {
  const admin = cluster.url('postgres', 'supabase_admin');
  // migrate.sh: the postgres role is created by the image build, as superuser, and owns the database.
  await run(admin, 'bootstrap', `create role postgres superuser login; alter database postgres owner to postgres;`);
  const asPostgres = cluster.url('postgres', 'postgres');
  for (const s of SUPABASE_INIT_SCRIPTS.filter((x) => x.phase === 'init')) {
    await run(asPostgres, s.path, upPart(s.sql).replace(PGJWT_LINE, () => PGJWT_STANDIN));
  }
  // pgsodium creates these roles; Supabase's migrations grant them even where pgsodium is absent.
  await run(admin, 'pgsodium roles stand-in', ['pgsodium_keyiduser', 'pgsodium_keyholder', 'pgsodium_keymaker'].map((r) => `create role ${r} nologin;`).join('\n'));
  // Run as the superuser: the first of these demotes postgres, as on the hosted platform.
  for (const s of SUPABASE_INIT_SCRIPTS.filter((x) => x.phase === 'migration')) {
    await run(admin, s.path, upPart(s.sql));
  }
  await run(admin, 'platform stand-ins', PLATFORM_STANDINS);
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
