/**
 * The Supabase-like fixture is what it claims to be: Supabase's roles and schemas, postgres owner
 * but not superuser, supabase_admin superuser, wal_level logical, default grants to the API roles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from '../helpers/pg.js';
import { sharedSupabaseCluster } from './fixture.js';
import { SUPABASE_INIT_SOURCE } from '../../src/supabase/scratch-cluster.js';
import { classifyConnection, assertSessionConnection, toolVersionWarning } from '../../src/supabase/connection.js';

const cluster = sharedSupabaseCluster();

test('roles: postgres is not superuser, supabase_admin is; the API roles exist and authenticator can switch to them', async () => {
  const roles = await sql<{ rolname: string; rolsuper: boolean; rolbypassrls: boolean }>(cluster().url(), `select rolname, rolsuper, rolbypassrls from pg_roles`);
  const by = new Map(roles.map((r) => [r.rolname, r]));
  assert.equal(by.get('postgres')?.rolsuper, false);
  assert.equal(by.get('supabase_admin')?.rolsuper, true);
  for (const r of ['anon', 'authenticated', 'service_role', 'authenticator', 'supabase_auth_admin', 'supabase_storage_admin', 'supabase_replication_admin', 'supabase_read_only_user']) {
    assert.ok(by.has(r), r);
  }
  assert.equal(by.get('service_role')?.rolbypassrls, true);
  const members = await sql<{ m: string }>(cluster().url(), `select r.rolname as m from pg_auth_members a join pg_roles r on r.oid = a.roleid join pg_roles u on u.oid = a.member where u.rolname = 'authenticator'`);
  for (const r of ['anon', 'authenticated', 'service_role']) assert.ok(members.some((x) => x.m === r), `authenticator is a member of ${r}`);
});

test('schemas, wal_level and default grants are Supabase\'s; postgres cannot do superuser things', async () => {
  const ns = (await sql<{ n: string }>(cluster().url(), `select nspname as n from pg_namespace`)).map((r) => r.n);
  for (const s of ['auth', 'storage', 'realtime', 'extensions', 'vault', 'graphql_public', 'supabase_migrations']) assert.ok(ns.includes(s), s);
  assert.equal((await sql<{ w: string }>(cluster().url(), `select current_setting('wal_level') as w`))[0].w, 'logical');
  await sql(cluster().url(), `create table public.notes (id int primary key, body text)`);
  const grants = await sql<{ grantee: string }>(cluster().url(), `select distinct grantee from information_schema.role_table_grants where table_name = 'notes'`);
  for (const r of ['anon', 'authenticated', 'service_role']) assert.ok(grants.some((g) => g.grantee === r), `default grant to ${r}`);
  await assert.rejects(sql(cluster().url(), `create extension file_fdw`), /permission denied|must be superuser|not allowed/);
  await assert.rejects(sql(cluster().url(), `alter role postgres superuser`), /permission denied|must be superuser/);
  // auth.uid() reads the JWT claim as PostgREST sets it; RLS with it works for authenticated.
  const uid = await sql<{ u: string }>(cluster().url(), `select set_config('request.jwt.claim.sub', '11111111-1111-1111-1111-111111111111', false), auth.uid()::text as u`);
  assert.equal(uid[0].u, '11111111-1111-1111-1111-111111111111');
  // The pgjwt stand-in signs like pgjwt does.
  const jwt = await sql<{ v: boolean }>(cluster().url(), `select valid as v from extensions.verify(extensions.sign('{"role":"anon"}', 'k'), 'k')`);
  assert.equal(jwt[0].v, true);
  assert.match(SUPABASE_INIT_SOURCE, /prodguard's own Supabase-like initialisation/);
});

test('connection strings: the transaction pooler is recognised and refused for dumps and migrations', () => {
  const tx = 'postgresql://postgres.abcdefghijklmnop:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres';
  assert.equal(classifyConnection(tx).kind, 'transaction-pooler');
  assert.equal(classifyConnection(tx).projectRef, 'abcdefghijklmnop');
  assert.equal(classifyConnection(tx.replace(':6543', ':5432')).kind, 'session-pooler');
  assert.equal(classifyConnection('postgresql://postgres:pw@db.abcdefghijklmnop.supabase.co:5432/postgres').kind, 'direct');
  assert.equal(classifyConnection('postgresql://u:pw@db.abcdefghijklmnop.supabase.co:6543/postgres').kind, 'transaction-pooler');
  assert.equal(classifyConnection('postgresql://u:pw@example.com:5432/db?pgbouncer=true').kind, 'transaction-pooler');
  assert.equal(classifyConnection('postgresql://u:pw@127.0.0.1:5432/db').kind, 'other');
  assert.throws(() => assertSessionConnection(tx, 'pg_dump'), (e: Error) => /transaction-mode pooler/.test(e.message) && !e.message.includes(':pw@') && !e.message.includes('\n'));
  assert.doesNotThrow(() => assertSessionConnection(tx.replace(':6543', ':5432'), 'pg_dump'));
  assert.match(toolVersionWarning('pg_dump', '15.14 (Debian 15.14-0+deb12u1)', '170004') ?? '', /older than the server/);
  assert.equal(toolVersionWarning('pg_dump', '17.2', '150008'), undefined);
});
