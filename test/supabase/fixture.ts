/**
 * The Supabase-like fixture for tests: one real cluster initialised with prodguard's own
 * Supabase-like SQL (src/supabase/init-sql.ts via src/supabase/scratch-cluster.ts), shared by a test file, destroyed in `after`.
 */
import { after, before } from 'node:test';
import type { Cluster } from '../../src/pg/cluster.js';
import { createSupabaseCluster } from '../../src/supabase/scratch-cluster.js';

export function sharedSupabaseCluster(): () => Cluster {
  let cluster: Cluster | undefined;
  before(async () => {
    cluster = await createSupabaseCluster({ name: 'prodguard-test-supabase' });
  });
  after(async () => {
    await cluster?.destroy();
  });
  return () => {
    if (!cluster) throw new Error('Supabase fixture not started yet');
    return cluster;
  };
}

/** A migration a Supabase project typically has: references auth.users, RLS for authenticated, grants to anon, a trigger on auth.users. */
export const PROFILES_MIGRATION = `create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  display_name text,
  created_at timestamptz not null default now()
);
alter table public.profiles enable row level security;
create policy "read own profile" on public.profiles for select to authenticated using (auth.uid() = id);
grant select on public.profiles to anon;
create function public.handle_new_user() returns trigger language plpgsql security definer set search_path = public as $$
begin
  insert into public.profiles (id, display_name) values (new.id, new.email);
  return new;
end $$;
create trigger on_auth_user_created after insert on auth.users for each row execute function public.handle_new_user();
`;

/** Project data: sign-ups through auth.users (the trigger fills profiles), a storage bucket and object. */
export const SEED_USERS_SQL = `
insert into auth.users (instance_id, id, aud, role, email)
select '00000000-0000-0000-0000-000000000000', extensions.uuid_generate_v4(), 'authenticated', 'authenticated', 'user' || g || '@example.com'
from generate_series(1, 50) g;
insert into storage.buckets (id, name) values ('avatars', 'avatars');
insert into storage.objects (bucket_id, name, owner) select 'avatars', 'a/' || id || '.png', id from auth.users limit 10;
`;

/** Personal data a Supabase project's sign-ups leave in auth (phones, names in metadata, identities, sessions, audit entries). */
export const SEED_AUTH_PII_SQL = `
update auth.users set phone = '+44 7700 9' || lpad(substr(email, 5, length(email) - 16), 5, '0'),
  encrypted_password = '$2a$10$' || md5(email), raw_user_meta_data = jsonb_build_object('full_name', 'Realname ' || email, 'avatar', 'a.png'),
  raw_app_meta_data = '{"provider":"email"}', confirmation_token = md5(email || 'c');
insert into auth.identities (provider_id, user_id, identity_data, provider) select id::text, id, jsonb_build_object('sub', id::text, 'email', email), 'email' from auth.users;
insert into auth.sessions (id, user_id, user_agent, ip) select extensions.uuid_generate_v4(), id, 'Mozilla/5.0 (' || email || ')', '203.0.113.7' from auth.users limit 20;
insert into auth.audit_log_entries (id, payload, ip_address) select extensions.uuid_generate_v4(), json_build_object('actor_username', email, 'action', 'login'), '203.0.113.7' from auth.users limit 20;
`;

/** Masking for the fixture project: every column PII detection finds, masked or kept with a reason. */
export const SUPABASE_MASKING = [
  { table: 'auth.users', column: 'email', strategy: 'email' },
  { table: 'auth.users', column: 'phone', strategy: 'phone' },
  { table: 'auth.users', column: 'encrypted_password', strategy: 'hash' },
  { table: 'auth.users', column: 'confirmation_token', strategy: 'hash' },
  { table: 'auth.users', column: 'recovery_token', strategy: 'hash' },
  { table: 'auth.users', column: 'email_change_token_new', strategy: 'hash' },
  { table: 'auth.users', column: 'email_change', strategy: 'email' },
  { table: 'auth.users', column: 'raw_user_meta_data', strategy: 'name', paths: ['$.full_name'] },
  { table: 'auth.identities', column: 'identity_data', strategy: 'email', paths: ['$.email'] },
  { table: 'auth.sessions', column: 'user_agent', strategy: 'null' },
  { table: 'auth.sessions', column: 'ip', strategy: 'null' },
  { table: 'auth.refresh_tokens', column: 'token', strategy: 'hash' },
  { table: 'auth.audit_log_entries', column: 'payload', strategy: 'null' },
  { table: 'auth.audit_log_entries', column: 'ip_address', strategy: 'text' },
  { table: 'public.profiles', column: 'display_name', strategy: 'name' },
  { table: 'vault.secrets', column: 'secret', strategy: 'null' },
  { table: 'vault.secrets', column: 'description', strategy: 'null' },
  { table: 'vault.secrets', column: 'nonce', strategy: 'keep', reason: 'a random nonce, no personal data' },
  { table: 'storage.objects', column: 'metadata', strategy: 'keep', reason: 'file size, MIME type and eTag set by Storage' },
];
