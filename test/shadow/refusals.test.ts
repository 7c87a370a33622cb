/**
 * What `shadow` refuses, with one clear line and no change made: a production without logical
 * WAL or a role without REPLICATION, a shadow that is not a superuser connection, commands before
 * `shadow enable`, bad restore arguments.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { makeProject, minimalConfig, runCli } from '../helpers/cli.js';
import { sql } from '../helpers/pg.js';
import { createCluster, type Cluster } from '../../src/pg/cluster.js';
import { assertProductionPrivileges } from '../../src/shadow/production.js';
import { forExistingSchemas } from '../../src/shadow/dump-sql.js';

let c: Cluster;
const cluster = () => c;
let project: { dir: string; cleanup: () => void };
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: project.dir, env: { PRODUCTION_DATABASE_URL: cluster().url('postgres', 'app'), SHADOW_DATABASE_URL: cluster().url('shadowdb'), ...env } });

before(async () => {
  c = await createCluster({ name: 'prodguard-shadow-refusals', settings: { wal_level: 'logical' } });
  project = makeProject({ 'prodguard.yaml': minimalConfig('  shadow:\n    kind: local\n    urlEnv: SHADOW_DATABASE_URL\n') });
  await sql(cluster().url(), 'create database shadowdb');
  await sql(cluster().url(), `create role app login nosuperuser; grant create on database postgres to app; create table public.t (id int primary key); alter table public.t owner to app`);
});
after(async () => {
  project?.cleanup();
  await c?.destroy();
});

test('production privileges: wal_level, REPLICATION, CREATE', () => {
  const ok = { role: 'postgres', superuser: false, replication: true, canCreate: true, walLevel: 'logical' };
  assert.doesNotThrow(() => assertProductionPrivileges(ok, 'production'));
  assert.throws(() => assertProductionPrivileges({ ...ok, walLevel: 'replica' }, 'production'), /wal_level=replica; a shadow needs logical replication/);
  assert.throws(() => assertProductionPrivileges({ ...ok, replication: false }, 'production'), /lacks the REPLICATION attribute/);
  assert.throws(() => assertProductionPrivileges({ ...ok, canCreate: false }, 'production'), /cannot CREATE/);
});

test('a role without REPLICATION is refused before anything is created on production', async () => {
  const r = await cli(['shadow', 'enable', '--env', 'production', '--shadow', 'shadow']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /role "app" on production lacks the REPLICATION attribute/);
  assert.equal((await sql(cluster().url(), 'select 1 from pg_publication')).length, 0, 'no publication created');
});

test('the shadow connection must be a superuser', async () => {
  await sql(cluster().url(), 'alter role app replication');
  const r = await cli(['shadow', 'enable', '--env', 'production', '--shadow', 'shadow'], { SHADOW_DATABASE_URL: cluster().url('shadowdb', 'app') });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /the shadow connection \(shadow\) must be a superuser/);
  assert.equal((await sql(cluster().url(), 'select 1 from pg_publication')).length, 0);
});

test('argument and state errors are one line, non-zero', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['shadow', 'enable', '--env', 'production', '--shadow', 'production'], /--shadow must name another environment/],
    [['shadow', 'enable', '--env', 'shadow', '--shadow', 'production'], /is a production environment; the shadow is a self-hosted copy/],
    [['shadow', 'status', '--env', 'production'], /no shadow is set up for production; run `prodguard shadow enable/],
    [['shadow', 'restore', '--env', 'production', '--time', 'yesterday', '--to', 'staging'], /--time must be a timestamp with a time zone/],
    [['shadow', 'restore', '--env', 'production', '--time', '2026-11-26 10:00:00+00', '--to', 'staging', '--where', 'id = 1'], /--where needs --table/],
    [['shadow', 'restore', '--env', 'production', '--time', '2026-11-26 10:00:00+00', '--to', 'staging', '--table', 'a;b'], /--table must be a table name or schema.table/],
    [['shadow', 'restore', '--env', 'production', '--time', '2026-11-26 10:00:00+00', '--to', 'staging'], /no shadow is set up for production/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  const help = await cli(['shadow', '--help']);
  assert.match(help.stdout, /enable[\s\S]*status[\s\S]*restore[\s\S]*migrate[\s\S]*sync-sequences/);
});

test('a schema dump replayed into an existing schema keeps objects, drops the platform\'s schema-level lines', () => {
  const out = forExistingSchemas([
    'CREATE SCHEMA public;',
    "COMMENT ON SCHEMA public IS 'standard public schema';",
    'GRANT USAGE ON SCHEMA public TO anon;',
    'ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON TABLES  TO anon;',
    'CREATE TABLE public.orders (id bigint);',
    'GRANT SELECT ON TABLE public.orders TO anon;',
  ].join('\n'));
  assert.equal(out, ['CREATE SCHEMA IF NOT EXISTS public;', 'CREATE TABLE public.orders (id bigint);', 'GRANT SELECT ON TABLE public.orders TO anon;'].join('\n'));
});
