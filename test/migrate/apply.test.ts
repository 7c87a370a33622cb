import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { makeProject, runCli } from '../helpers/cli.js';
import { sharedCluster, createDatabase, sql } from '../helpers/pg.js';
import { loadConfig } from '../../src/config/load.js';
import { readMigrations } from '../../src/migrate/files.js';
import { historyTarget } from '../../src/migrate/history.js';
import { applyMigrations } from '../../src/migrate/apply.js';
import { connect } from '../../src/pg/client.js';

const cluster = sharedCluster({ name: 'prodguard-test-migrate-apply' });
const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

function project(files: Record<string, string>, extra: Record<string, unknown> = {}) {
  const p = makeProject(files);
  cleanups.push(p.cleanup);
  writeFileSync(
    join(p.dir, 'prodguard.yaml'),
    stringify({
      version: 1,
      environments: { staging: { kind: 'staging', urlEnv: 'APPLY_STAGING_URL' }, production: { kind: 'production', urlEnv: 'APPLY_PROD_URL' } },
      migrations: { lockTimeout: '200ms', statementTimeout: '30s' },
      ...extra,
    }),
  );
  return { dir: p.dir, loaded: () => loadConfig({ cwd: p.dir }) };
}

const apply = (loaded: ReturnType<typeof loadConfig>, url: string) =>
  applyMigrations(loaded, url, readMigrations(loaded).files, { actor: 'test', changeHash: 'h', history: historyTarget(loaded) });

test('CREATE INDEX CONCURRENTLY needs the explicit no-transaction marker; without it the whole file rolls back', async () => {
  const url = await createDatabase(cluster(), 'notx');
  const p = project({
    'migrations/0001_t.sql': 'CREATE TABLE t (id bigint PRIMARY KEY, v text);\n',
    'migrations/0002_idx.sql': 'CREATE TABLE t2 (id bigint);\nCREATE INDEX CONCURRENTLY t_v_idx ON t (v);\n',
  });
  await assert.rejects(apply(p.loaded(), url), /migration 0002_idx\.sql failed: CREATE INDEX CONCURRENTLY cannot run inside a transaction block; its transaction was rolled back.*already applied in this run: 0001_t\.sql/);
  assert.deepEqual((await sql<{ version: string }>(url, 'SELECT version FROM prodguard.schema_migrations')).map((r) => r.version), ['0001']);
  assert.equal((await sql<{ r: string | null }>(url, `SELECT to_regclass('t2')::text AS r`))[0].r, null);
  writeFileSync(join(p.dir, 'migrations/0002_idx.sql'), '-- prodguard: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_v_idx ON t (v);\n');
  const loaded = p.loaded();
  const files = readMigrations(loaded).files;
  assert.equal(files[1].noTransaction, true);
  const done = await applyMigrations(loaded, url, files.slice(1), { actor: 'test', changeHash: 'h', history: historyTarget(loaded) });
  assert.deepEqual(done.map((d) => [d.file, d.transactional]), [['0002_idx.sql', false]]);
  const idx = await sql<{ valid: boolean }>(url, `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 't_v_idx'::regclass`);
  assert.equal(idx[0].valid, true);
  assert.deepEqual((await sql<{ version: string }>(url, 'SELECT version FROM prodguard.schema_migrations ORDER BY 1')).map((r) => r.version), ['0001', '0002']);
});

test('each migration runs with the configured lock_timeout: a migration blocked by a lock fails instead of queueing forever', async () => {
  const url = await createDatabase(cluster(), 'locks');
  const p = project({ 'migrations/0001_t.sql': 'CREATE TABLE busy (id bigint);\n' });
  await apply(p.loaded(), url);
  writeFileSync(join(p.dir, 'migrations/0002_alter.sql'), 'ALTER TABLE busy ADD COLUMN x text;\n');
  const holder = await connect(url);
  try {
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE busy IN ACCESS SHARE MODE');
    const loaded = p.loaded();
    await assert.rejects(
      applyMigrations(loaded, url, readMigrations(loaded).files.slice(1), { actor: 'test', changeHash: 'h', history: historyTarget(loaded) }),
      /0002_alter\.sql failed: canceling statement due to lock timeout/,
    );
  } finally {
    await holder.query('ROLLBACK');
    await holder.end();
  }
  assert.deepEqual((await sql<{ version: string }>(url, 'SELECT version FROM prodguard.schema_migrations')).map((r) => r.version), ['0001']);
});

test('Supabase layout: history goes to supabase_migrations.schema_migrations, with the columns the table really has', async () => {
  const url = await createDatabase(cluster(), 'supa');
  // A newer Supabase CLI table with extra columns.
  await sql(url, `CREATE SCHEMA supabase_migrations;
    CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, statements text[], name text, created_by text, idempotency_key text UNIQUE)`);
  const p = project({
    'supabase/migrations/20260101000000_init.sql': 'CREATE TABLE a (id bigint);\nCREATE TABLE b (id bigint);\n',
    'supabase/migrations/20260102000000_more.sql': 'ALTER TABLE a ADD COLUMN n text;\n',
  }, { project: { layout: 'supabase' } });
  process.env.APPLY_STAGING_URL = url;
  await apply(p.loaded(), url);
  const rows = await sql<{ version: string; name: string; statements: string[]; created_by: string }>(url, 'SELECT version, name, statements, created_by FROM supabase_migrations.schema_migrations ORDER BY version');
  assert.deepEqual(rows.map((r) => [r.version, r.name, r.created_by]), [['20260101000000', 'init', 'test'], ['20260102000000', 'more', 'test']]);
  assert.deepEqual(rows[0].statements, ['CREATE TABLE a (id bigint)', 'CREATE TABLE b (id bigint)']);
  assert.equal((await sql<{ r: string | null }>(url, `SELECT to_regclass('prodguard.schema_migrations')::text AS r`))[0].r, null);
  // A badly named file in a Supabase project is a usage error.
  mkdirSync(join(p.dir, 'supabase/migrations'), { recursive: true });
  writeFileSync(join(p.dir, 'supabase/migrations/fix.sql'), 'SELECT 1;\n');
  const r = await runCli(['migrate', 'status', '--env', 'staging'], { cwd: p.dir, env: { APPLY_STAGING_URL: url } });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /fix\.sql is not named <14-digit timestamp>_<name>\.sql/);
});

test('migrate status lists pending migrations and a migration edited after it was applied', async () => {
  const url = await createDatabase(cluster(), 'stat');
  const p = project({ 'migrations/0001_t.sql': 'CREATE TABLE s (id bigint);\n' });
  await apply(p.loaded(), url);
  writeFileSync(join(p.dir, 'migrations/0001_t.sql'), 'CREATE TABLE s (id bigint, sneaky text);\n');
  writeFileSync(join(p.dir, 'migrations/0002_u.sql'), 'CREATE TABLE u (id bigint);\n');
  const r = await runCli(['migrate', 'status', '--env', 'staging', '--json'], { cwd: p.dir, env: { APPLY_STAGING_URL: url } });
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.deepEqual(s.pending.map((x: { file: string }) => x.file), ['0002_u.sql']);
  assert.equal(s.applied.length, 1);
  assert.match(s.drift[0], /0001_t\.sql changed after it was applied/);
  assert.match(s.changeHash, /^[0-9a-f]{64}$/);
});
