/**
 * Issue #21 item 3 / #20: `staging refresh` from one Supabase-like project into another. Both
 * databases have the managed schemas, the platform roles and a non-superuser `postgres` (the role
 * prodguard connects as, like the hosted connection string). auth.users' personal data is masked
 * in the private copy before the swap; policies, grants to the API roles and the trigger on
 * auth.users come along; what only the platform's superuser can make is left out and named.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeFileSync } from 'node:fs';
import { makeProject, runCli } from '../helpers/cli.js';
import { sql } from '../helpers/pg.js';
import { runPgTool } from '../../src/pg/run-tool.js';
import { openContext } from '../../src/context.js';
import { generateKeys } from '../../src/migrate/keys.js';
import { checks as migrateChecks } from '../../src/status/checks/migrate.js';
import { sharedSupabaseCluster, PROFILES_MIGRATION, SEED_USERS_SQL, SEED_AUTH_PII_SQL, SUPABASE_MASKING } from './fixture.js';

const cluster = sharedSupabaseCluster();
const project = makeProject();
after(() => project.cleanup());
let env: Record<string, string> = {};
const cli = (args: string[]) => runCli(args, { cwd: project.dir, env });

test('setup: a Supabase-like production with sign-ups, a second Supabase-like staging on another database', async () => {
  const c = cluster();
  await sql(c.url('postgres'), PROFILES_MIGRATION + SEED_USERS_SQL + SEED_AUTH_PII_SQL + 'create index profiles_created_at_idx on public.profiles (created_at);');
  await sql(c.url('postgres', 'supabase_admin'), `create database staging template postgres owner postgres`);
  env = { PROD_URL: c.url('postgres'), STAGE_URL: c.url('staging') };
  const alice = generateKeys({ name: 'alice', outDir: join(project.dir, 'keys') });
  writeFileSync(
    join(project.dir, 'prodguard.yaml'),
    stringify({
      version: 1,
      project: { name: 'qwikker', layout: 'supabase' },
      environments: {
        staging: { kind: 'staging', urlEnv: 'STAGE_URL', supabaseRef: 'qwikkerstage' },
        production: { kind: 'production', urlEnv: 'PROD_URL', supabaseRef: 'qwikkerprod' },
      },
      backup: { encryption: { noEncrypt: true }, destinations: [{ name: 'local', type: 'local', path: join(project.dir, 'backups') }] },
      staging: { masking: SUPABASE_MASKING },
      // Kept columns must be signed by the policy in force (red team w5c-044): a senior pins it.
      team: [{ name: 'alice', role: 'senior', publicKey: alice.publicKey }],
      policy: { threshold: 1 },
    }),
  );
  for (const args of [['policy', 'init', '--key', alice.privateKeyFile], ['backup', 'create', '--env', 'production'], ['backup', 'verify', 'latest']]) {
    const r = await cli(args);
    assert.equal(r.code, 0, r.stderr + r.stdout);
  }
});

async function rule3() {
  const ctx = openContext({ cwd: project.dir });
  try {
    Object.assign(process.env, env);
    return await migrateChecks.find((c) => c.id === 'migrate.staging')!.run(ctx);
  } finally {
    await ctx.close();
  }
}

test('status rule 3 for a hosted Supabase staging never refreshed: mirrors production proven by the two schemas, no data refresh needed', async () => {
  // Staging was made from production's schema (template), so they match; a hand-made column breaks it.
  const same = await rule3();
  assert.match(same.reason, /hosted Supabase staging: its schema matches production's/, same.reason);
  await sql(env.STAGE_URL, `alter table public.profiles add column website text`);
  const differs = await rule3();
  assert.equal(differs.state, 'missing', differs.reason);
  assert.match(differs.reason, /schema differs from production's in 1 object/);
  await sql(env.STAGE_URL, `alter table public.profiles drop column website`);
});

test('staging refresh between Supabase-like projects: auth.users masked, policies, grants and triggers kept, platform-only entries named', async () => {
  const r = await cli(['staging', 'refresh', '--yes', '--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout + r.stderr, /left to the platform .*default privileges of supabase_admin/);
  // Named in the result and the audit record too, never silently.
  assert.deepEqual(JSON.parse(r.stdout).leftToPlatform, ["default privileges of supabase_admin (the platform's roles)"]);
  const st = env.STAGE_URL;
  const users = await sql<{ email: string; phone: string; meta: string }>(st, `select email, phone, raw_user_meta_data::text as meta from auth.users order by email`);
  assert.equal(users.length, 50);
  for (const u of users) {
    assert.match(u.email, /^user_[0-9a-f]{16}@example\.invalid$/);
    assert.doesNotMatch(u.phone, /^\+44 7700/);
    assert.doesNotMatch(u.meta, /Realname|example\.com/);
  }
  // Nothing of production's personal data anywhere in staging: a full dump of it is grepped.
  const dump = await runPgTool('pg_dump', ['--data-only', `--dbname=${st}`]);
  assert.doesNotMatch(dump.stdout, /user\d+@example\.com|Realname|\+44 7700 9/);
  // The project's own objects on the platform's schemas came along and work for the API roles.
  const pol = await sql<{ r: string }>(st, `select polroles::regrole[]::text as r from pg_policy where polname = 'read own profile'`);
  assert.equal(pol[0].r, '{authenticated}');
  const grants = await sql(st, `select 1 from information_schema.role_table_grants where table_schema = 'public' and table_name = 'profiles' and grantee = 'anon' and privilege_type = 'SELECT'`);
  assert.equal(grants.length, 1);
  const trig = await sql(st, `select 1 from pg_trigger where tgname = 'on_auth_user_created' and tgrelid = 'auth.users'::regclass`);
  assert.equal(trig.length, 1);
  // Profiles and users still join (the same masking of the key on both sides is not needed: ids are not PII).
  const joined = await sql<{ n: string }>(st, `select count(*)::text as n from public.profiles p join auth.users u on u.id = p.id`);
  assert.equal(joined[0].n, '50');
  // No private copy or old staging left next to it.
  const side = await sql(env.PROD_URL, `select datname from pg_database where datname like 'staging\\_\\_pgref%'`);
  assert.deepEqual(side, []);
});

test('status rule 3 reads both schemas from the databases: the refreshed staging matches, an added column or a dropped index in staging is drift', async () => {
  const clean = await rule3();
  assert.match(clean.reason, /staging: .*schema matches production's \(read from both databases\)/, clean.reason);
  assert.match(clean.reason, /data \d+(\.\d)? (s|min|h|days) old/);
  assert.match(clean.reason, /masking: \d+ masked, 2 kept, 0 uncovered/);
  assert.doesNotMatch(clean.reason, /DRIFT/);
  await sql(env.STAGE_URL, `alter table public.profiles add column nickname text`);
  const added = await rule3();
  assert.equal(added.state, 'failing', added.reason);
  assert.match(added.reason, /schema DRIFT against production .*in 1 object\(s\): column public\.profiles\.nickname: in staging, not in production/);
  await sql(env.STAGE_URL, `alter table public.profiles drop column nickname; drop index public.profiles_created_at_idx`);
  const dropped = await rule3();
  assert.equal(dropped.state, 'failing', dropped.reason);
  assert.match(dropped.reason, /schema DRIFT .*profiles_created_at_idx: in production, missing in staging/);
  await sql(env.STAGE_URL, `create index profiles_created_at_idx on public.profiles (created_at)`);
  assert.match((await rule3()).reason, /schema matches production's/);
});

test('staging refresh and restore refuse a transaction-mode pooler target with one line, the password never shown', async () => {
  const pooler = 'postgresql://postgres.qwikkerstage:uR1-pa55word@aws-0-eu-central-1.pooler.supabase.com:6543/postgres';
  const refresh = await runCli(['staging', 'refresh', '--yes'], { cwd: project.dir, env: { ...env, STAGE_URL: pooler } });
  const restore = await runCli(['restore', 'latest', '--to', pooler], { cwd: project.dir, env });
  for (const [job, r] of [['staging refresh', refresh], ['pg_restore', restore]] as const) {
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`${job} cannot run through a transaction-mode pooler`));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr + r.stdout, /uR1-pa55word/);
  }
});
