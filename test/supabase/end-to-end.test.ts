/**
 * Issue #21's proof, end to end on the Supabase-like fixture: a project with auth users (personal
 * data in auth.users, identities, sessions), storage objects, RLS and a trigger on auth.users is
 * backed up, verified and drilled (restored into a Supabase-like scratch cluster, row counts equal,
 * RTO recorded), staging is refreshed from it with auth.users masked, a migration touching
 * auth/anon goes local → staging → two signed approvals (policy in force) → CI deploy (OIDC token of
 * a loopback issuer), drift replays on a Supabase-like cluster and is clean, and `status --strict`
 * passes as a whole — rule 2 with two independent destinations and PITR read from a loopback
 * Management API. Secrets of the corpus are fed in (the production URL's password, the Supabase
 * access token) and appear nowhere: not in the audit log, not in any --json output.
 * A transaction-mode pooler URL is refused before anything connects.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createServer, type Server } from 'node:http';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { openContext } from '../../src/context.js';
import { materializeBackup } from '../../src/backup/index.js';
import { isSupabaseDump } from '../../src/supabase/restore.js';
import { makeProject, runCli } from '../helpers/cli.js';
import { sql } from '../helpers/pg.js';
import { sharedSupabaseCluster, PROFILES_MIGRATION, SEED_USERS_SQL, SEED_AUTH_PII_SQL, SUPABASE_MASKING } from './fixture.js';
import { runPgTool } from '../../src/pg/run-tool.js';
import { loadConfig } from '../../src/config/load.js';
import { readMigrations } from '../../src/migrate/files.js';
import { historyTarget } from '../../src/migrate/history.js';
import { applyMigrations } from '../../src/migrate/apply.js';
import { generateKeyPair } from '../../src/backup/encryption.js';
import { generateKeys } from '../../src/migrate/keys.js';
import { requestChange } from '../../src/migrate/request.js';
import { approveChange } from '../../src/migrate/approve.js';
import { findLeak } from '../fixtures/secrets-corpus.js';
import { initPolicy } from '../../src/policy/rotate.js';
import { enrollEnvironment } from '../../src/policy/environment-identity.js';
import { startLocalIssuer } from '../../src/policy/local-issuer.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => { run(): Promise<{ port: number }>; close(): Promise<void> };

const cluster = sharedSupabaseCluster();
const s3Dir = mkdtempSync(join(tmpdir(), 'prodguard-e2e-s3rver-'));
// Outside the repository, as status rule 4 wants: private keys, the production URL file, the second backup place.
const outside = mkdtempSync(join(tmpdir(), 'prodguard-e2e-outside-'));
// This project's own temp dir: status rule 2 judges leftovers of crashed runs in the machine's temp
// dir, and /tmp here is shared with unrelated test runs. World-writable like /tmp: scratch clusters run as postgres.
const privateTmp = mkdtempSync(join(tmpdir(), 'prodguard-e2e-tmp-'));
chmodSync(privateTmp, 0o1777);
let s3: { close(): Promise<void> } | undefined;
const servers: Server[] = [];
after(async () => {
  await s3?.close();
  for (const sv of servers) await new Promise((r) => sv.close(r));
  await issuer?.close();
  rmSync(s3Dir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
  rmSync(privateTmp, { recursive: true, force: true });
});
const project = makeProject({ 'supabase/migrations/20260101000000_profiles.sql': PROFILES_MIGRATION });
after(() => project.cleanup());

/** Corpus secrets fed into the flow: the production URL's password and the Supabase access token. */
const PROD_PASSWORD = 'uR1-pa55word';
const SB_TOKEN = 'sbp_0123456789abcdef0123456789abcdef01234567';
let env: Record<string, string> = {};
let prodUrl = '';
let keys: { identity: string; recipient: string };
const PEOPLE = ['alice', 'bob', 'carol'] as const;
const people: Record<string, ReturnType<typeof generateKeys>> = {};
let ciKey: ReturnType<typeof generateKeys>;
let issuer: Awaited<ReturnType<typeof startLocalIssuer>>;
/** Everything prodguard printed as --json in this run: checked against the secrets corpus at the end. */
const jsonOutputs: string[] = [];
const cli = async (args: string[], extra: Record<string, string> = {}) => {
  const r = await runCli(args, { cwd: project.dir, env: { ...env, ...extra } });
  if (args.includes('--json')) jsonOutputs.push(r.stdout + r.stderr);
  return r;
};
const prodFile = join(outside, 'production.url');
/** The fixture cannot run supautils, which lets the platform's postgres create event triggers: the lockdown is applied as supabase_admin. */
const asPlatform = async <T>(fn: () => Promise<T>): Promise<T> => {
  writeFileSync(prodFile, cluster().url('postgres', 'supabase_admin'));
  try {
    return await fn();
  } finally {
    writeFileSync(prodFile, prodUrl);
  }
};

async function listen(handler: Parameters<typeof createServer>[1]): Promise<number> {
  const sv = createServer(handler);
  servers.push(sv);
  await new Promise<void>((r) => sv.listen(0, '127.0.0.1', r));
  return (sv.address() as { port: number }).port;
}

test('setup: production is the fixture project, staging a second Supabase-like database', async () => {
  const c = cluster();
  // A second project's database: same platform objects (template), owned by postgres like a project's.
  await sql(c.url('postgres', 'supabase_admin'), `create database staging template postgres owner postgres`);
  keys = await generateKeyPair();
  for (const n of PEOPLE) people[n] = generateKeys({ name: n, outDir: join(outside, 'keys') });
  ciKey = generateKeys({ name: 'ci', outDir: join(outside, 'keys') });
  const server = new S3rver({ port: 0, address: '127.0.0.1', directory: s3Dir, silent: true, configureBuckets: [{ name: 'offsite' }] });
  const { port } = await server.run();
  s3 = server;
  // The production URL (with a password) lives in a file outside the repository, as a mounted CI secret would.
  const u = new URL(c.url('postgres'));
  u.password = PROD_PASSWORD;
  prodUrl = u.toString();
  writeFileSync(prodFile, prodUrl, { mode: 0o600 });
  // Notifications go to a loopback webhook that accepts them; a Management API stand-in answers PITR for the token.
  const hookPort = await listen((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end('ok'));
  });
  const apiPort = await listen((req, res) => {
    if (req.method !== 'GET' || req.headers.authorization !== `Bearer ${SB_TOKEN}`) return void res.writeHead(401).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({ region: 'eu-central-1', walg_enabled: true, pitr_enabled: true, backups: [], physical_backup_data: { earliest_physical_backup_date_unix: Math.floor(Date.now() / 1000) - 7 * 86400, latest_physical_backup_date_unix: Math.floor(Date.now() / 1000) } }),
    );
  });
  issuer = await startLocalIssuer(undefined);
  env = { STAGING_DATABASE_URL: c.url('staging'), PATH: process.env.PATH ?? '/usr/bin:/bin', S3_KEY: 'S3RVER', S3_SECRET: 'S3RVER', OFFSITE_BUCKET: 'offsite', SECOND_PLACE: join(outside, 'backups-a'), SB_E2E_TOKEN: '', PRODGUARD_AGE_IDENTITY: keys.identity, E2E_WEBHOOK_URL: `http://127.0.0.1:${hookPort}/hook`, TMPDIR: privateTmp };
  writeFileSync(
    join(project.dir, 'prodguard.yaml'),
    stringify({
      version: 1,
      project: { name: 'qwikker', layout: 'supabase', migrationsDir: 'supabase/migrations' },
      environments: {
        staging: { kind: 'staging', urlEnv: 'STAGING_DATABASE_URL', supabaseRef: 'qwikkerstage' },
        production: { kind: 'production', urlFile: prodFile, supabaseRef: 'qwikkerprod' },
      },
      supabase: { pitr: 'addon', accessTokenEnv: 'SB_E2E_TOKEN', apiUrl: `http://127.0.0.1:${apiPort}` },
      backup: {
        encryption: { recipients: [keys.recipient] },
        destinations: [
          { name: 'local', type: 'local', path: '${SECOND_PLACE}' },
          { name: 'offsite', type: 's3', bucket: '${OFFSITE_BUCKET}', endpoint: `http://127.0.0.1:${port}`, accessKeyIdEnv: 'S3_KEY', secretAccessKeyEnv: 'S3_SECRET' },
        ],
      },
      migrations: { lockTimeout: '2s', statementTimeout: '30s', approvals: { required: 2, expireAfter: '72h', dir: '.prodguard/approvals' } },
      staging: { masking: SUPABASE_MASKING },
      team: PEOPLE.map((n) => ({ name: n, role: 'senior', publicKey: people[n].publicKey })),
      policy: {
        checkpointKey: ciKey.publicKey,
        oidc: { provider: 'github', issuer: issuer.issuer, audience: 'prodguard', repository: 'qwikker/app', ref: 'refs/heads/main', environment: 'production', workflow: 'qwikker/app/.github/workflows/prodguard.yml' },
      },
      runbook: {
        contacts: [{ name: 'alice', role: 'database owner', phone: '+1 555 0100', available: '24/7' }],
        communication: { internal: 'Incident: {what}. Impact: {impact}. Next update {next_update} by {incident_lead}.' },
      },
      notifications: { webhooks: [{ name: 'ops', urlEnv: 'E2E_WEBHOOK_URL' }] },
    }),
  );
  Object.assign(process.env, env);
  // The team's trust anchors: both databases enrolled, the policy (team, approvals, CI identity) pinned by a senior.
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
  } finally {
    delete process.env.PRODGUARD_ACTOR;
    await ctx.close();
  }
  // The agent guard and the CI workflow, as `prodguard init` tells a team to add them.
  for (const args of [['install', 'claude-code', '--dir', project.dir], ['migrate', 'ci', '--github']]) {
    const r = await cli(args);
    assert.equal(r.code, 0, r.stderr);
  }
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
  await applyMigrations(loaded, prodUrl, readMigrations(loaded).files, { actor: 'ci', changeHash: 'e2e', history: historyTarget(loaded) });
  await sql(prodUrl, SEED_USERS_SQL + SEED_AUTH_PII_SQL);
  const n = await sql<{ n: string }>(prodUrl, `select count(*)::text as n from public.profiles`);
  assert.equal(n[0].n, '50', 'the trigger on auth.users filled profiles');
});

test('drift replays the migrations on a Supabase-like cluster: clean, then a hand-made change is found', async () => {
  const clean = await cli(['migrate', 'drift', '--json']);
  assert.equal(clean.code, 0, clean.stderr + clean.stdout);
  for (const e of JSON.parse(clean.stdout)) assert.deepEqual(e.lines, [], e.environment);
  await sql(prodUrl, `alter table public.profiles add column website text`);
  const dirty = await cli(['migrate', 'drift', '--env', 'production', '--json']);
  assert.notEqual(dirty.code, 0);
  assert.match(dirty.stdout, /website/);
  await sql(prodUrl, `alter table public.profiles drop column website`);
});

test('lockdown is installed in the Supabase-like production (as the platform lets postgres create event triggers)', async () => {
  const r = await asPlatform(() => cli(['lockdown', 'apply', '--env', 'production', '--json']));
  assert.equal(r.code, 0, r.stderr + r.stdout);
  // The deployer role goes to the login CI deploys with (docs/gateway.md, 05-roles.sql): here the project's postgres.
  await sql(cluster().url('postgres', 'supabase_admin'), `grant prodguard_deployer to postgres`);
  const st = await cli(['lockdown', 'status', '--env', 'production', '--json']);
  assert.equal(st.code, 0, st.stderr + st.stdout);
  const refused = await sql(prodUrl, `alter table public.profiles add column website text`).then(() => 'ran', (e: Error) => e.message);
  assert.match(refused, /prodguard lockdown: ALTER TABLE refused/);
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

const asPooler = async <T>(url: string, fn: () => Promise<T>): Promise<T> => {
  writeFileSync(prodFile, url);
  try {
    return await fn();
  } finally {
    writeFileSync(prodFile, prodUrl);
  }
};

test("staging refresh: production's latest verified backup becomes staging, auth.users masked before anyone can read it", async () => {
  const r = await cli(['staging', 'refresh', '--yes', '--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stderr + r.stdout, /left to the platform .*prodguard_ddl_guard.*default privileges of supabase_admin/);
  const users = await sql<{ email: string }>(env.STAGING_DATABASE_URL, `select email from auth.users`);
  assert.equal(users.length, 50);
  for (const u of users) assert.match(u.email, /^user_[0-9a-f]{16}@example\.invalid$/);
  const dump = await runPgTool('pg_dump', ['--data-only', `--dbname=${env.STAGING_DATABASE_URL}`]);
  assert.doesNotMatch(dump.stdout, /user\d+@example\.com|Realname|\+44 7700 9/);
  // Staging is still staging (its own identity stamped into the copy), and migrations apply there.
  const again = await cli(['migrate', 'apply', '--env', 'staging', '--json']);
  assert.equal(again.code, 0, again.stderr + again.stdout);
});

test('a transaction-mode pooler URL is refused for backups with one clear line, the password never shown', async () => {
  const pooler = 'postgresql://postgres.abcdefghijklmnop:uR1-pa55word@aws-0-eu-central-1.pooler.supabase.com:6543/postgres';
  const r = await asPooler(pooler, () => cli(['backup', 'create', '--env', 'production']));
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

test('a second migration goes local → staging → two approvals → CI deploy on the Supabase-like production', async () => {
  writeFileSync(join(project.dir, 'supabase/migrations/20260102000000_avatar.sql'), 'alter table public.profiles add column avatar_url text;\ngrant update (avatar_url) on public.profiles to authenticated;\n');
  const st = await cli(['migrate', 'apply', '--env', 'staging', '--json']);
  assert.equal(st.code, 0, st.stderr);
  // The deploy gate trusts only the policy in force (pinned in setup: team, approvals, CI identity) and the CI platform's signed token.
  const ctx = openContext({ cwd: project.dir });
  process.env.PRODGUARD_ACTOR = 'alice';
  try {
    const { change } = await requestChange(ctx, 'production', { keyFile: people.alice.privateKeyFile });
    await approveChange(ctx, change.hash, { keyFile: people.bob.privateKeyFile });
    await approveChange(ctx, change.hash, { keyFile: people.carol.privateKeyFile });
  } finally {
    delete process.env.PRODGUARD_ACTOR;
    await ctx.close();
  }
  const token = await issuer.token(issuer.githubClaims('qwikker/app'));
  const d = await cli(['migrate', 'deploy', '--env', 'production', '--json'], { CI: 'true', PRODGUARD_ACTOR: 'ci', PRODGUARD_OIDC_TOKEN: token });
  assert.equal(d.code, 0, d.stderr + d.stdout);
  const col = await sql(prodUrl, `select 1 from information_schema.columns where table_name = 'profiles' and column_name = 'avatar_url'`);
  assert.equal(col.length, 1);
  assert.equal(findLeak(d.stdout + d.stderr), undefined);
});

test('after the deploy: production verified against staging, drift clean on both', async () => {
  const v = await cli(['migrate', 'verify', '--env', 'production', '--json']);
  assert.equal(v.code, 0, v.stderr + v.stdout);
  const clean = await cli(['migrate', 'drift', '--json']);
  assert.equal(clean.code, 0, clean.stderr + clean.stdout);
  for (const e of JSON.parse(clean.stdout)) assert.deepEqual(e.lines, [], e.environment);
});

test('status --strict passes as a whole, PITR read from the Management API with the access token; no corpus secret anywhere', async () => {
  const cp = await cli(['audit', 'checkpoint', '--key', ciKey.privateKeyFile, '--json']);
  assert.equal(cp.code, 0, cp.stderr + cp.stdout);
  const r = await cli(['status', '--strict', '--json'], { SB_E2E_TOKEN: SB_TOKEN });
  const card = JSON.parse(r.stdout) as { ok: boolean; rules: Array<{ rule: number; state: string; checks: Array<{ id: string; state: string; reason: string }> }> };
  const notOk = card.rules.flatMap((x) => x.checks.filter((c) => c.state !== 'ok').map((c) => `rule ${x.rule} ${c.id}: ${c.reason}`));
  assert.deepEqual(notOk, []);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(card.ok, true);
  const rule = (n: number, id: string) => card.rules.find((x) => x.rule === n)!.checks.find((c) => c.id === id)!;
  assert.match(rule(2, 'recovery.guarantees').reason, /Management API|API/);
  assert.match(rule(2, 'backup.two-destinations').reason, /2 destinations/);
  assert.match(rule(3, 'migrate.staging').reason, /schema matches production's \(read from both databases\)/);
  assert.match(rule(3, 'migrate.staging').reason, /masking: \d+ masked, 2 kept, 0 uncovered/);
  assert.match(rule(6, 'recovery.drill-recent').reason, /RTO (\d\.\d s|\d+ s|\d+ min)/);
  // The corpus secrets that went in (the URL's password, the access token) appear nowhere.
  const ctx = openContext({ cwd: project.dir });
  const auditFile = ctx.auditLog.file;
  await ctx.close();
  assert.ok(existsSync(auditFile));
  const audit = readFileSync(auditFile, 'utf8');
  assert.ok(audit.split('\n').length > 20, 'the run was audited');
  assert.equal(findLeak(audit), undefined, 'audit log');
  jsonOutputs.push(r.stdout + r.stderr);
  for (const out of jsonOutputs) assert.equal(findLeak(out), undefined, out.slice(0, 200));
  assert.ok(jsonOutputs.length >= 15);
});
