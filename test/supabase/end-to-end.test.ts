/**
 * End to end on the Supabase-like fixture: a project with auth users, storage objects, RLS and a
 * trigger on auth.users is backed up, verified and drilled (restored into a Supabase-like scratch
 * cluster, row counts equal), a migration touching auth/anon goes through staging, production gets
 * it, drift replays on a Supabase-like cluster and finds nothing, then finds a hand-made change.
 * A transaction-mode pooler URL is refused before anything connects.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { openContext } from '../../src/context.js';
import { materializeBackup } from '../../src/backup/index.js';
import { isSupabaseDump } from '../../src/supabase/restore.js';
import { makeProject, runCli } from '../helpers/cli.js';
import { sql } from '../helpers/pg.js';
import { sharedSupabaseCluster, PROFILES_MIGRATION, SEED_USERS_SQL } from './fixture.js';
import { loadConfig } from '../../src/config/load.js';
import { readMigrations } from '../../src/migrate/files.js';
import { historyTarget } from '../../src/migrate/history.js';
import { applyMigrations } from '../../src/migrate/apply.js';
import { findLeak } from '../fixtures/secrets-corpus.js';

const cluster = sharedSupabaseCluster();
const project = makeProject({ 'supabase/migrations/20260101000000_profiles.sql': PROFILES_MIGRATION });
after(() => project.cleanup());

let env: Record<string, string> = {};
const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, { cwd: project.dir, env: { ...env, ...extra } });

test('setup: production is the fixture project, staging a second Supabase-like database', async () => {
  const c = cluster();
  // A second project's database: same platform objects (template), owned by postgres like a project's.
  await sql(c.url('postgres', 'supabase_admin'), `create database staging template postgres owner postgres`);
  env = { PRODUCTION_DATABASE_URL: c.url('postgres'), STAGING_DATABASE_URL: c.url('staging'), PATH: process.env.PATH ?? '/usr/bin:/bin' };
  writeFileSync(
    join(project.dir, 'prodguard.yaml'),
    stringify({
      version: 1,
      project: { name: 'qwikker', layout: 'supabase', migrationsDir: 'supabase/migrations' },
      environments: {
        staging: { kind: 'staging', urlEnv: 'STAGING_DATABASE_URL' },
        production: { kind: 'production', urlEnv: 'PRODUCTION_DATABASE_URL' },
      },
      backup: {
        encryption: { noEncrypt: true },
        destinations: [
          { name: 'local', type: 'local', path: join(project.dir, 'backups-a') },
          { name: 'second', type: 'local', path: join(project.dir, 'backups-b') },
        ],
      },
      migrations: { lockTimeout: '2s', statementTimeout: '30s' },
    }),
  );
});

test('a migration touching auth.users, anon and authenticated applies on the Supabase-like staging as non-superuser postgres', async () => {
  const r = await cli(['migrate', 'apply', '--env', 'staging', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).applied.length, 1);
  const pol = await sql<{ r: string }>(env.STAGING_DATABASE_URL, `select polroles::regrole[]::text as r from pg_policy where polname = 'read own profile'`);
  assert.equal(pol[0].r, '{authenticated}');
});

test('production gets the migration (as the deploy would run it) and project data', async () => {
  // The deploy gate (approvals, CI identity) is exercised in test/migrate; here the same runner applies it.
  const loaded = loadConfig({ cwd: project.dir });
  await applyMigrations(loaded, env.PRODUCTION_DATABASE_URL, readMigrations(loaded).files, { actor: 'ci', changeHash: 'e2e', history: historyTarget(loaded) });
  await sql(env.PRODUCTION_DATABASE_URL, SEED_USERS_SQL);
  const n = await sql<{ n: string }>(env.PRODUCTION_DATABASE_URL, `select count(*)::text as n from public.profiles`);
  assert.equal(n[0].n, '50', 'the trigger on auth.users filled profiles');
});

let backupId = '';
test('backup create of the Supabase project: user schemas, auth and storage data, roles', async () => {
  const r = await cli(['backup', 'create', '--env', 'production', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout);
  backupId = m.id ?? m.manifest?.id;
  const counts = (m.rowCounts ?? m.manifest?.rowCounts) as Record<string, number>;
  assert.equal(counts['auth.users'], 50);
  assert.equal(counts['public.profiles'], 50);
  assert.equal(counts['storage.objects'], 10);
  assert.equal(m.globalsSkipped ?? m.manifest?.globalsSkipped, undefined, 'roles dumped as --role-only does, by the non-superuser postgres');
  // The stored dump is recognised as a Supabase project's, so verify and drill take the Supabase path.
  const dir = mkdtempSync(join(tmpdir(), 'prodguard-e2e-mat-'));
  try {
    const ctx = openContext({ cwd: project.dir });
    try {
      Object.assign(process.env, env);
      const mat = await materializeBackup(ctx, backupId, dir);
      assert.equal(await isSupabaseDump(mat.dumpPath), true);
      assert.match(readFileSync(mat.globalsPath!, 'utf8'), /CREATE ROLE anon/);
    } finally {
      await ctx.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('backup verify restores into a Supabase-like scratch cluster: managed schemas handled, row counts equal', async () => {
  const r = await cli(['backup', 'verify', 'latest', '--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const v = JSON.parse(r.stdout);
  assert.equal(v.ok, true, JSON.stringify(v.problems));
  assert.equal(v.backupId, backupId);
});

test('drill restores it too and records an RTO', async () => {
  const r = await cli(['drill', '--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const d = JSON.parse(r.stdout);
  assert.equal(d.ok, true, d.error);
  assert.ok(d.rtoMs > 0);
  assert.ok(d.tablesChecked >= 3);
});

test('drift replays the migrations on a Supabase-like cluster: clean, then a hand-made change is found', async () => {
  const clean = await cli(['migrate', 'drift', '--json']);
  assert.equal(clean.code, 0, clean.stderr + clean.stdout);
  for (const e of JSON.parse(clean.stdout)) assert.deepEqual(e.lines, [], e.environment);
  await sql(env.PRODUCTION_DATABASE_URL, `alter table public.profiles add column website text`);
  const dirty = await cli(['migrate', 'drift', '--env', 'production', '--json']);
  assert.notEqual(dirty.code, 0);
  assert.match(dirty.stdout, /website/);
});

test('a transaction-mode pooler URL is refused for backups with one clear line, the password never shown', async () => {
  const pooler = 'postgresql://postgres.abcdefghijklmnop:uR1-pa55word@aws-0-eu-central-1.pooler.supabase.com:6543/postgres';
  const r = await cli(['backup', 'create', '--env', 'production'], { PRODUCTION_DATABASE_URL: pooler });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /transaction-mode pooler/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.equal(findLeak(r.stderr + r.stdout), undefined);
});
