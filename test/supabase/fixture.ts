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
