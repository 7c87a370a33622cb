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
import { createRequire } from 'node:module';
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
import { generateKeyPair } from '../../src/backup/encryption.js';
import { generateKeys } from '../../src/migrate/keys.js';
import { requestChange } from '../../src/migrate/request.js';
import { approveChange } from '../../src/migrate/approve.js';
import { findLeak } from '../fixtures/secrets-corpus.js';
import { parse } from 'yaml';
import { initPolicy } from '../../src/policy/rotate.js';
import { enrollEnvironment } from '../../src/policy/environment-identity.js';
import { startLocalIssuer } from '../../src/policy/local-issuer.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => { run(): Promise<{ port: number }>; close(): Promise<void> };

const cluster = sharedSupabaseCluster();
const s3Dir = mkdtempSync(join(tmpdir(), 'prodguard-e2e-s3rver-'));
let s3: { close(): Promise<void> } | undefined;
after(async () => {
  await s3?.close();
  rmSync(s3Dir, { recursive: true, force: true });
});
const project = makeProject({ 'supabase/migrations/20260101000000_profiles.sql': PROFILES_MIGRATION });
after(() => project.cleanup());

let env: Record<string, string> = {};
let keys: { identity: string; recipient: string };
const PEOPLE = ['alice', 'bob', 'carol'] as const;
const people: Record<string, ReturnType<typeof generateKeys>> = {};
const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, { cwd: project.dir, env: { ...env, ...extra } });

test('setup: production is the fixture project, staging a second Supabase-like database', async () => {
  const c = cluster();
  // A second project's database: same platform objects (template), owned by postgres like a project's.
  await sql(c.url('postgres', 'supabase_admin'), `create database staging template postgres owner postgres`);
  keys = await generateKeyPair();
  for (const n of PEOPLE) people[n] = generateKeys({ name: n, outDir: join(project.dir, 'keys') });
  const server = new S3rver({ port: 0, address: '127.0.0.1', directory: s3Dir, silent: true, configureBuckets: [{ name: 'offsite' }] });
  const { port } = await server.run();
  s3 = server;
  env = { PRODUCTION_DATABASE_URL: c.url('postgres'), STAGING_DATABASE_URL: c.url('staging'), PATH: process.env.PATH ?? '/usr/bin:/bin', S3_KEY: 'S3RVER', S3_SECRET: 'S3RVER', OFFSITE_BUCKET: 'offsite', SB_E2E_TOKEN: '', PRODGUARD_AGE_IDENTITY: keys.identity };
  writeFileSync(
    join(project.dir, 'prodguard.yaml'),
    stringify({
      version: 1,
      project: { name: 'qwikker', layout: 'supabase', migrationsDir: 'supabase/migrations' },
      environments: {
        staging: { kind: 'staging', urlEnv: 'STAGING_DATABASE_URL', supabaseRef: 'qwikkerstage' },
        production: { kind: 'production', urlEnv: 'PRODUCTION_DATABASE_URL', supabaseRef: 'qwikkerprod' },
      },
      supabase: { pitr: 'addon', accessTokenEnv: 'SB_E2E_TOKEN' },
      backup: {
        encryption: { recipients: [keys.recipient] },
        destinations: [
          { name: 'local', type: 'local', path: join(project.dir, 'backups-a') },
          { name: 'offsite', type: 's3', bucket: '${OFFSITE_BUCKET}', endpoint: `http://127.0.0.1:${port}`, accessKeyIdEnv: 'S3_KEY', secretAccessKeyEnv: 'S3_SECRET' },
        ],
      },
      migrations: { lockTimeout: '2s', statementTimeout: '30s', approvals: { required: 2, expireAfter: '72h', dir: '.prodguard/approvals' } },
      team: PEOPLE.map((n) => ({ name: n, role: 'senior', publicKey: people[n].publicKey })),
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

test('the daily schedule: a scheduled backup job and its verification run (as serve or the CI workflow would)', async () => {
  const b = await cli(['jobs', 'run', 'backup', '--json'], { GITHUB_ACTIONS: '', GITLAB_CI: '' });
  assert.equal(b.code, 0, b.stderr + b.stdout);
  const v = await cli(['backup', 'verify', 'latest', '--json']);
  assert.equal(v.code, 0, v.stderr + v.stdout);
  assert.equal(JSON.parse(v.stdout).ok, true);
});

test('status: every rule-2 check passes for the hosted project (verified dump, two independent places, PITR add-on declared)', async () => {
  const r = await cli(['status', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const card = JSON.parse(r.stdout) as { rules: Array<{ rule: number; state: string; checks?: Array<{ id: string; state: string; reason: string }> }> };
  const rule2 = card.rules.find((x) => x.rule === 2)!;
  const checks = rule2.checks ?? [];
  for (const id of ['backup.recent-verified', 'backup.two-destinations', 'backup.last-not-degraded', 'recovery.guarantees']) {
    const c = checks.find((x) => x.id === id);
    assert.ok(c, `${id} in ${JSON.stringify(rule2)}`);
    if (id === 'backup.last-not-degraded' || id === 'backup.recent-verified' || id === 'backup.two-destinations') assert.equal(c.state, 'ok', `${id}: ${c.reason}`);
    if (id === 'recovery.guarantees') {
      assert.equal(c.state, 'ok', c.reason);
      assert.match(c.reason, /declared/);
    }
  }
  const notOk = checks.filter((c) => c.state !== 'ok').map((c) => `${c.id}: ${c.reason}`);
  assert.deepEqual(notOk, [], 'rule 2 passes as a whole');
  assert.equal(rule2.state, 'ok');
  assert.equal(findLeak(r.stdout + r.stderr), undefined);
});

test('status rule 3 for a hosted Supabase staging: mirrors production proven by the two schemas, no data refresh needed', async () => {
  const check = async () => {
    const r = await cli(['status', '--json']);
    const card = JSON.parse(r.stdout) as { rules: Array<{ rule: number; checks: Array<{ id: string; state: string; reason: string }> }> };
    return card.rules.find((x) => x.rule === 3)!.checks.find((c) => c.id === 'migrate.staging')!;
  };
  // Production got a hand-made column in the drift test: staging does not mirror it.
  const differs = await check();
  assert.equal(differs.state, 'missing', differs.reason);
  assert.match(differs.reason, /schema differs from production's in 1 object/);
  await sql(env.STAGING_DATABASE_URL, `alter table public.profiles add column website text`);
  const same = await check();
  assert.equal(same.state, 'ok', same.reason);
  assert.match(same.reason, /schema matches production's/);
});

test('a second migration goes local → staging → two approvals → CI deploy on the Supabase-like production', async () => {
  writeFileSync(join(project.dir, 'supabase/migrations/20260102000000_avatar.sql'), 'alter table public.profiles add column avatar_url text;\ngrant update (avatar_url) on public.profiles to authenticated;\n');
  const st = await cli(['migrate', 'apply', '--env', 'staging', '--json']);
  assert.equal(st.code, 0, st.stderr);
  Object.assign(process.env, env);
  // The deploy gate trusts only the policy in force and the CI platform's signed token: the team
  // names its CI identity (a local stand-in issuer), enrolls both databases and a senior pins the policy.
  const issuer = await startLocalIssuer(undefined);
  after(() => issuer.close());
  const file = join(project.dir, 'prodguard.yaml');
  const raw = parse(readFileSync(file, 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  raw.policy = { oidc: { provider: 'github', issuer: issuer.issuer, audience: 'prodguard', repository: 'qwikker/app', ref: 'refs/heads/main', environment: 'production', workflow: 'qwikker/app/.github/workflows/prodguard.yml' } };
  writeFileSync(file, stringify(raw));
  let ctx = openContext({ cwd: project.dir });
  try {
    await enrollEnvironment(ctx, 'staging');
    await enrollEnvironment(ctx, 'production');
  } finally {
    await ctx.close();
  }
  ctx = openContext({ cwd: project.dir });
  process.env.PRODGUARD_ACTOR = 'alice';
  try {
    await initPolicy(ctx, { keyFile: people.alice.privateKeyFile });
    const { change } = await requestChange(ctx, 'production', { keyFile: people.alice.privateKeyFile });
    await approveChange(ctx, change.hash, { keyFile: people.bob.privateKeyFile });
    await approveChange(ctx, change.hash, { keyFile: people.carol.privateKeyFile });
  } finally {
    delete process.env.PRODGUARD_ACTOR;
    await ctx.close();
  }
  const token = await issuer.token(issuer.githubClaims('qwikker/app'));
  const d = await cli(['migrate', 'deploy', '--env', 'production'], { CI: 'true', PRODGUARD_ACTOR: 'ci', PRODGUARD_OIDC_TOKEN: token });
  assert.equal(d.code, 0, d.stderr + d.stdout);
  const col = await sql(env.PRODUCTION_DATABASE_URL, `select 1 from information_schema.columns where table_name = 'profiles' and column_name = 'avatar_url'`);
  assert.equal(col.length, 1);
  assert.equal(findLeak(d.stdout + d.stderr), undefined);
});
