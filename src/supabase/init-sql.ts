/**
 * prodguard's own Supabase-like initialisation, modelled on Supabase's documented roles and schemas
 * (the platform's public documentation of database roles, the API roles and their grants, the
 * managed schemas and RLS helpers). Written for prodguard, not copied: it reproduces the conventions
 * a Supabase project's migrations and dumps depend on, not the platform's exact definitions.
 *
 * Every step runs as the bootstrap superuser `supabase_admin` on a freshly initdb'ed cluster. What a
 * stand-in here cannot show is listed in docs/supabase.md ("What the fixture cannot show").
 */

export const SUPABASE_INIT_SOURCE = "prodguard's own Supabase-like initialisation, modelled on Supabase's documented roles and schemas";

export interface InitStep {
  name: string;
  sql: string;
}

const ROLES = `
-- The project owner: not superuser on the platform, but may create roles/databases, replicate and bypass RLS.
create role postgres login nosuperuser createrole createdb replication bypassrls;
alter database postgres owner to postgres;
grant pg_read_all_data, pg_signal_backend to postgres;
-- On the platform supautils lets postgres set a few superuser-only settings (privileged_role_allowed_configs),
-- among them session_replication_role (Supabase's data-import guides use it); GRANT SET is PostgreSQL's own way.
grant set on parameter session_replication_role to postgres;

-- The API roles PostgREST switches to, by JWT role claim.
create role anon nologin noinherit;
create role authenticated nologin noinherit;
create role service_role nologin noinherit bypassrls;
create role authenticator login noinherit;
grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to postgres with admin option;
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role authenticator set statement_timeout = '8s';

-- Service and platform roles.
create role supabase_auth_admin login noinherit createrole;
create role supabase_storage_admin login noinherit createrole;
grant authenticator to supabase_storage_admin;
create role dashboard_user nologin createrole createdb replication;
create role supabase_replication_admin login replication;
create role supabase_read_only_user login bypassrls;
grant pg_read_all_data to supabase_read_only_user;
create role supabase_realtime_admin nologin noinherit;
create role supabase_functions_admin nologin noinherit createrole;
create role pgbouncer login;
-- pgsodium's roles exist on every project; pgsodium itself is not available here.
create role pgsodium_keyiduser nologin;
create role pgsodium_keyholder nologin;
create role pgsodium_keymaker nologin;
grant pgsodium_keyiduser to pgsodium_keyholder;
grant pgsodium_keyholder to pgsodium_keymaker;
`;

const EXTENSIONS = `
create schema extensions authorization supabase_admin;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
create extension "uuid-ossp" with schema extensions;
create extension pgcrypto with schema extensions;
alter default privileges in schema extensions grant execute on functions to postgres, anon, authenticated, service_role;
grant execute on all functions in schema extensions to postgres, anon, authenticated, service_role;
grant usage on schema extensions to supabase_auth_admin, supabase_storage_admin, dashboard_user;
-- Unqualified uuid_generate_v4() and friends resolve, as on a project.
alter role postgres set search_path = "\$user", public, extensions;

-- A pgjwt-like stand-in (pgjwt is not packaged for Debian's PostgreSQL): sign and verify HS256/384/512
-- tokens with pgcrypto's hmac, same function names and arguments as pgjwt's.
create function extensions.b64url(data bytea) returns text language sql immutable as $$
  select rtrim(translate(encode(data, 'base64'), E'+/\\n', '-_'), '=');
$$;
create function extensions.b64url_decode(data text) returns bytea language sql immutable as $$
  select decode(translate(data, '-_', '+/') || repeat('=', (4 - length(data) % 4) % 4), 'base64');
$$;
create function extensions.jwt_mac(signables text, secret text, algorithm text) returns text language sql immutable as $$
  select extensions.b64url(extensions.hmac(signables, secret,
    case algorithm when 'HS256' then 'sha256' when 'HS384' then 'sha384' when 'HS512' then 'sha512' end));
$$;
create function extensions.sign(payload json, secret text, algorithm text default 'HS256') returns text language sql immutable as $$
  select s || '.' || extensions.jwt_mac(s, secret, algorithm)
  from (select extensions.b64url(convert_to(json_build_object('alg', algorithm, 'typ', 'JWT')::text, 'utf8'))
               || '.' || extensions.b64url(convert_to(payload::text, 'utf8')) as s) t;
$$;
create function extensions.verify(token text, secret text, algorithm text default 'HS256')
returns table(header json, payload json, valid boolean) language sql immutable as $$
  select convert_from(extensions.b64url_decode(p[1]), 'utf8')::json,
         convert_from(extensions.b64url_decode(p[2]), 'utf8')::json,
         p[3] = extensions.jwt_mac(p[1] || '.' || p[2], secret, algorithm)
  from (select string_to_array(token, '.') as p) t;
$$;
grant execute on all functions in schema extensions to postgres, anon, authenticated, service_role;
`;

const API_GRANTS = `
-- public: the API roles may use everything the project owner or the platform creates there; RLS decides rows.
grant usage on schema public to postgres, anon, authenticated, service_role;
grant all on schema public to postgres;
alter default privileges for role postgres in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on functions to postgres, anon, authenticated, service_role;
`;

const AUTH = `
create schema auth authorization supabase_auth_admin;
set role supabase_auth_admin;

create table auth.users (
  instance_id uuid,
  id uuid primary key default extensions.gen_random_uuid(),
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  invited_at timestamptz,
  confirmation_token varchar(255),
  confirmation_sent_at timestamptz,
  recovery_token varchar(255),
  recovery_sent_at timestamptz,
  email_change_token_new varchar(255),
  email_change varchar(255),
  email_change_sent_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  phone text unique,
  phone_confirmed_at timestamptz,
  banned_until timestamptz,
  deleted_at timestamptz,
  is_sso_user boolean not null default false,
  is_anonymous boolean not null default false
);
create unique index users_email_partial_key on auth.users (email) where is_sso_user = false;
create index users_instance_id_idx on auth.users (instance_id);

create table auth.sessions (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz,
  updated_at timestamptz,
  not_after timestamptz,
  user_agent text,
  ip inet
);
create index sessions_user_id_idx on auth.sessions (user_id);

create table auth.refresh_tokens (
  instance_id uuid,
  id bigserial primary key,
  token varchar(255) unique,
  user_id varchar(255),
  revoked boolean,
  created_at timestamptz,
  updated_at timestamptz,
  parent varchar(255),
  session_id uuid references auth.sessions (id) on delete cascade
);
create index refresh_tokens_instance_id_user_id_idx on auth.refresh_tokens (instance_id, user_id);

create table auth.identities (
  provider_id text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  identity_data jsonb not null,
  provider text not null,
  last_sign_in_at timestamptz,
  created_at timestamptz,
  updated_at timestamptz,
  email text generated always as (lower(identity_data ->> 'email')) stored,
  id uuid primary key default extensions.gen_random_uuid(),
  unique (provider_id, provider)
);

create table auth.audit_log_entries (
  instance_id uuid,
  id uuid primary key,
  payload json,
  created_at timestamptz,
  ip_address varchar(64) not null default ''
);

create table auth.schema_migrations (version varchar(255) primary key);
insert into auth.schema_migrations (version) values ('20260101000000');

-- The JWT helpers RLS policies use. PostgREST sets request.jwt.claims (JSON) and, in older versions,
-- one request.jwt.claim.<name> setting per claim; both are read.
create function auth.jwt() returns jsonb language sql stable as $$
  select nullif(current_setting('request.jwt.claims', true), '')::jsonb
$$;
create function auth.uid() returns uuid language sql stable as $$
  select coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''), (auth.jwt() ->> 'sub'))::uuid
$$;
create function auth.role() returns text language sql stable as $$
  select coalesce(nullif(current_setting('request.jwt.claim.role', true), ''), (auth.jwt() ->> 'role'))::text
$$;
create function auth.email() returns text language sql stable as $$
  select coalesce(nullif(current_setting('request.jwt.claim.email', true), ''), (auth.jwt() ->> 'email'))::text
$$;
reset role;

grant usage on schema auth to postgres, anon, authenticated, service_role, dashboard_user;
grant all on all tables in schema auth to postgres, dashboard_user with grant option;
grant all on all sequences in schema auth to postgres, dashboard_user with grant option;
grant execute on all functions in schema auth to postgres, anon, authenticated, service_role, dashboard_user;
alter role supabase_auth_admin set search_path = auth;
`;

const STORAGE = `
create schema storage authorization supabase_storage_admin;
set role supabase_storage_admin;

create table storage.buckets (
  id text primary key,
  name text not null unique,
  owner uuid,
  public boolean default false,
  file_size_limit bigint,
  allowed_mime_types text[],
  created_at timestamptz default now(),
  updated_at timestamptz default now()
);

create table storage.objects (
  id uuid primary key default extensions.gen_random_uuid(),
  bucket_id text references storage.buckets (id),
  name text,
  owner uuid,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  last_accessed_at timestamptz default now(),
  metadata jsonb,
  path_tokens text[] generated always as (string_to_array(name, '/')) stored,
  version text
);
create unique index bucketid_objname on storage.objects (bucket_id, name);
create index name_prefix_search on storage.objects (name text_pattern_ops);
alter table storage.objects enable row level security;
alter table storage.buckets enable row level security;

create table storage.migrations (
  id integer primary key,
  name varchar(100) not null unique,
  hash varchar(40) not null,
  executed_at timestamp default current_timestamp
);

-- Helpers storage policies use: path segments of an object name.
create function storage.foldername(name text) returns text[] language sql immutable as $$
  select (string_to_array(name, '/'))[1:array_length(string_to_array(name, '/'), 1) - 1]
$$;
create function storage.filename(name text) returns text language sql immutable as $$
  select (string_to_array(name, '/'))[array_length(string_to_array(name, '/'), 1)]
$$;
create function storage.extension(name text) returns text language sql immutable as $$
  select reverse(split_part(reverse(storage.filename(name)), '.', 1))
$$;
create function storage.search(prefix text, bucketname text, limits int default 100, levels int default 1, offsets int default 0)
returns table(name text, id uuid, updated_at timestamptz, created_at timestamptz, last_accessed_at timestamptz, metadata jsonb)
language sql stable as $$
  select o.name, o.id, o.updated_at, o.created_at, o.last_accessed_at, o.metadata
  from storage.objects o
  where o.bucket_id = bucketname and o.name like prefix || '%'
  order by o.name limit limits offset offsets
$$;
reset role;

grant usage on schema storage to postgres, anon, authenticated, service_role, dashboard_user;
grant all on all tables in schema storage to postgres, service_role, dashboard_user with grant option;
grant select, insert, update, delete on storage.objects, storage.buckets to anon, authenticated;
grant execute on all functions in schema storage to postgres, anon, authenticated, service_role;
alter role supabase_storage_admin set search_path = storage;
`;

const PLATFORM = `
-- Realtime: the schema and the publication the Realtime server listens on.
create schema realtime authorization supabase_admin;
grant usage on schema realtime to postgres, anon, authenticated, service_role;
create table realtime.schema_migrations (version bigint primary key, inserted_at timestamp(0));
grant all on all tables in schema realtime to postgres, dashboard_user;
create publication supabase_realtime;

-- Vault stand-in: the table's columns, but the secret is NOT encrypted (no pgsodium here).
create schema vault authorization supabase_admin;
create table vault.secrets (
  id uuid primary key default extensions.gen_random_uuid(),
  name text unique,
  description text not null default '',
  secret text not null,
  key_id uuid,
  nonce bytea,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create view vault.decrypted_secrets as select s.*, s.secret as decrypted_secret from vault.secrets s;
grant usage on schema vault to postgres with grant option;
grant all on all tables in schema vault to postgres with grant option;

-- GraphQL stand-ins: the schemas exist (pg_graphql is not available here), no resolver.
create schema graphql authorization supabase_admin;
create schema graphql_public authorization supabase_admin;
grant usage on schema graphql, graphql_public to postgres, anon, authenticated, service_role;
create function graphql_public.graphql("operationName" text default null, query text default null, variables jsonb default null, extensions jsonb default null)
returns jsonb language sql stable as $$
  select jsonb_build_object('errors', jsonb_build_array(jsonb_build_object('message', 'pg_graphql is not available in this Supabase-like cluster')))
$$;
grant execute on function graphql_public.graphql(text, text, jsonb, jsonb) to postgres, anon, authenticated, service_role;

-- What the Supabase CLI creates to record applied migrations.
create schema supabase_migrations authorization postgres;
create table supabase_migrations.schema_migrations (version text primary key, statements text[], name text);
create table supabase_migrations.seed_files (path text primary key, hash text not null);
alter table supabase_migrations.schema_migrations owner to postgres;
alter table supabase_migrations.seed_files owner to postgres;
`;

/** The steps, in order; each runs as supabase_admin. */
export const SUPABASE_INIT_STEPS: readonly InitStep[] = [
  { name: 'roles', sql: ROLES },
  { name: 'extensions schema and pgjwt-like stand-in', sql: EXTENSIONS },
  { name: 'API grants and default privileges', sql: API_GRANTS },
  { name: 'auth schema', sql: AUTH },
  { name: 'storage schema', sql: STORAGE },
  { name: 'realtime, vault, graphql and supabase_migrations', sql: PLATFORM },
];
