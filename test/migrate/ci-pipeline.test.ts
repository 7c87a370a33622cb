/**
 * The generated GitHub workflow, run for real: each job's `run` steps execute in their own clean
 * runner directory (a fresh checkout of the repo, no local state), with only the secrets the job
 * declares, against real clusters and one team store. Laptops request and approve in between.
 * The platform's OIDC issuer is a loopback stand-in (src/policy/local-issuer.ts).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { sharedCluster, sql, createDatabase } from '../helpers/pg.js';
import { CLI, TSX, runCli } from '../helpers/cli.js';
import { generateKeys } from '../../src/migrate/keys.js';
import { INIT_SQL } from './fixture.js';
import { loadConfig } from '../../src/config/load.js';
import { applyMigrations } from '../../src/migrate/apply.js';
import { readMigrations } from '../../src/migrate/files.js';
import { historyTarget } from '../../src/migrate/history.js';
import { startLocalIssuer, githubDeployClaims, type LocalIssuer } from '../../src/policy/local-issuer.js';

const cluster = sharedCluster({ name: 'prodguard-test-pipeline' });
const root = mkdtempSync(join(tmpdir(), 'prodguard-pipeline-'));
let issuer: LocalIssuer | undefined;
after(async () => {
  await issuer?.close();
  rmSync(root, { recursive: true, force: true });
});

const REPO_NAME = 'acme/app';
const bin = join(root, 'bin');
mkdirSync(bin);
writeFileSync(join(bin, 'prodguard'), `#!/bin/sh\nexec "${process.execPath}" --import "${TSX}" "${CLI}" "$@"\n`);
chmodSync(join(bin, 'prodguard'), 0o755);

interface Step { run?: string; uses?: string; env?: Record<string, string>; name?: string }
interface Job { steps: Step[]; permissions?: Record<string, string>; environment?: string; if?: string }

let n = 0;
/** A fresh checkout of the repo: only committed files, no .prodguard state. */
function checkout(repo: string, what: string): string {
  const dir = join(root, `${what}-${n++}`);
  cpSync(repo, dir, { recursive: true, filter: (src) => !/state\.db|audit\.jsonl|\.lock$/.test(src) });
  return dir;
}

function sh(cmd: string, cwd: string, env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const c = spawn('bash', ['-c', cmd], { cwd, env });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

/** Runs a job's steps as GitHub would, in a clean runner: step env with secrets substituted, id-token only when the job asks for it. */
async function runJob(repo: string, job: Job, name: string, secrets: Record<string, string>): Promise<Array<{ step: string; code: number; out: string }>> {
  const dir = checkout(repo, name);
  const temp = join(dir, '.runner-temp');
  mkdirSync(temp);
  const results = [];
  for (const step of job.steps) {
    if (!step.run || /^npm ci/.test(step.run)) continue; // uses: actions and installs are the platform's business
    const env: Record<string, string> = { PATH: `${bin}:${process.env.PATH}`, HOME: process.env.HOME ?? '/root', CI: 'true', GITHUB_ACTIONS: 'true', RUNNER_TEMP: temp };
    if (job.permissions?.['id-token'] === 'write') Object.assign(env, issuer!.githubEnv());
    for (const [k, v] of Object.entries(step.env ?? {})) env[k] = v.replace(/\$\{\{ secrets\.([A-Z0-9_]+) \}\}/g, (_, s: string) => secrets[s] ?? '');
    const r = await sh(step.run.replace(/npx prodguard/g, 'prodguard'), dir, env);
    results.push({ step: step.name ?? step.run, ...r });
    if (r.code !== 0 && !/\|\| true/.test(step.run)) break;
  }
  return results;
}

test('the generated workflow, run as separate clean runners against one team store: lint, staging, signed request, two approvals, OIDC deploy, verify, checkpoint', async () => {
  issuer = await startLocalIssuer(githubDeployClaims(REPO_NAME));
  const prod = await createDatabase(cluster(), 'pipe_prod');
  const staging = await createDatabase(cluster(), 'pipe_staging');
  const team = await createDatabase(cluster(), 'pipe_team');
  const keysDir = join(root, 'keys'); // each person's key stays on their machine, never in the repo
  const k = Object.fromEntries(['alice', 'bob', 'carol', 'dave', 'ci'].map((p) => [p, generateKeys({ name: p, outDir: keysDir })]));
  const repo = join(root, 'repo');
  mkdirSync(join(repo, 'migrations'), { recursive: true });
  writeFileSync(join(repo, 'migrations/0001_init.sql'), INIT_SQL);
  writeFileSync(
    join(repo, 'prodguard.yaml'),
    stringify({
      version: 1,
      project: { name: 'acme' },
      environments: { staging: { kind: 'staging', urlEnv: 'STAGING_URL' }, production: { kind: 'production', urlEnv: 'PROD_URL' } },
      team: [
        { name: 'alice', role: 'senior', publicKey: k.alice.publicKey },
        { name: 'bob', role: 'senior', publicKey: k.bob.publicKey },
        { name: 'carol', role: 'senior', publicKey: k.carol.publicKey },
        { name: 'dave', role: 'developer', publicKey: k.dave.publicKey },
      ],
      state: { store: 'postgres', urlEnv: 'TEAM_URL' },
      backup: { encryption: { noEncrypt: true }, destinations: [{ name: 'offsite', type: 'local', path: join(root, 'offsite') }] },
      migrations: { lockTimeout: '2s', statementTimeout: '30s' },
      policy: {
        oidc: { provider: 'github', issuer: issuer.issuer, audience: 'prodguard', repository: REPO_NAME, ref: 'refs/heads/main', environment: 'production', workflow: `${REPO_NAME}/.github/workflows/prodguard.yml` },
        checkpointKey: k.ci.publicKey,
      },
    }),
  );
  const secrets = { STAGING_URL: staging, PROD_URL: prod, TEAM_URL: team, PRODGUARD_CHECKPOINT_KEY: readFileSync(k.ci.privateKeyFile, 'utf8') };
  const laptopEnv = { STAGING_URL: staging, PROD_URL: prod, TEAM_URL: team, CI: undefined };
  // Baseline: 0001 on both databases, with its history row.
  const loaded = loadConfig({ cwd: repo });
  for (const url of [prod, staging]) await applyMigrations(loaded, url, readMigrations(loaded).files, { actor: 'setup', changeHash: 'setup', history: historyTarget(loaded) });

  // alice (senior) sets up: workflow, enrolment, pinned policy; the result is committed.
  const alice = checkout(repo, 'alice');
  for (const args of [['migrate', 'ci', '--github'], ['env', 'enroll', '--env', 'staging'], ['env', 'enroll', '--env', 'production'], ['policy', 'init', '--key', k.alice.privateKeyFile]]) {
    const r = await runCli(args, { cwd: alice, env: laptopEnv });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  cpSync(join(alice, 'prodguard.yaml'), join(repo, 'prodguard.yaml'));
  cpSync(join(alice, '.github'), join(repo, '.github'), { recursive: true });
  const wf = parse(readFileSync(join(repo, '.github/workflows/prodguard.yml'), 'utf8')) as { jobs: Record<string, Job> };

  // Safe by construction.
  assert.doesNotMatch(JSON.stringify(wf.jobs.lint), /secrets\./, 'pull-request jobs get no secrets');
  assert.equal(wf.jobs['deploy-production'].environment, 'production');
  assert.equal(wf.jobs['deploy-production'].permissions?.['id-token'], 'write');
  for (const j of Object.values(wf.jobs)) assert.ok(j.steps.some((s) => s.run === 'npm ci --ignore-scripts'), 'installs never run dependency scripts');
  assert.match(JSON.stringify(wf.jobs['deploy-production'].steps[0]), /default_branch/);

  // dave's pull request adds a migration; the PR job lints it without secrets.
  writeFileSync(join(repo, 'migrations/0002_add_sku.sql'), 'ALTER TABLE items ADD COLUMN sku text;\n');
  const lint = await runJob(repo, wf.jobs.lint, 'pr-lint', secrets);
  assert.ok(lint.length >= 2 && lint.every((s) => s.code === 0), JSON.stringify(lint));

  // Merged: the staging job applies it (its own runner, only staging + team store secrets).
  const st = await runJob(repo, wf.jobs['apply-staging'], 'staging', secrets);
  assert.ok(st.every((s) => s.code === 0), JSON.stringify(st));
  assert.equal((await sql(staging, `SELECT 1 FROM prodguard.schema_migrations WHERE version = '0002'`)).length, 1);

  // A deploy attempted before the request: refused by the gate, prod untouched.
  const early = await runJob(repo, wf.jobs['deploy-production'], 'deploy-early', secrets);
  assert.notEqual(early[0].code, 0);
  assert.match(early[0].out, /\[request\] change [0-9a-f]+ was never requested/);

  // dave requests (signed), bob and carol approve on their laptops; the approvals are committed.
  const dave = checkout(repo, 'dave');
  const req = await runCli(['migrate', 'request', '--env', 'production', '--key', k.dave.privateKeyFile, '--json'], { cwd: dave, env: laptopEnv });
  assert.equal(req.code, 0, req.stderr);
  const hash = JSON.parse(req.stdout).change.hash as string;
  for (const who of ['bob', 'carol']) {
    const laptop = checkout(repo, who);
    const r = await runCli(['migrate', 'approve', hash.slice(0, 12), '--key', k[who].privateKeyFile], { cwd: laptop, env: laptopEnv });
    assert.equal(r.code, 0, r.stderr);
    cpSync(join(laptop, '.prodguard/approvals'), join(repo, '.prodguard/approvals'), { recursive: true });
  }

  // The same deploy step on a laptop-like runner without the platform token is refused: CI=true is not proof.
  const noToken = await runJob(repo, { ...wf.jobs['deploy-production'], permissions: { contents: 'read' } }, 'deploy-no-token', secrets);
  assert.match(noToken[0].out, /\[ci\] not running in CI: no OIDC token/);

  // The deploy job: its own clean runner sees the request (team store), approvals (repo), staging evidence (staging's history).
  const dep = await runJob(repo, wf.jobs['deploy-production'], 'deploy', secrets);
  assert.ok(dep.every((s) => s.code === 0), dep.map((s) => `${s.step}: ${s.code}\n${s.out}`).join('\n'));
  const hist = await sql<{ applied_by: string }>(prod, `SELECT applied_by FROM prodguard.schema_migrations WHERE version = '0002'`);
  assert.equal(hist[0].applied_by, `oidc:repo:${REPO_NAME}:environment:production`);
  // The runner is gone, its records are not: the team store holds the deploy with the proved identity.
  const anchored = await sql<{ record: { action: string; verdict: string; details?: { identity?: { subject: string } } } }>(team, `SELECT record FROM prodguard_state.audit_log ORDER BY anchored_at`);
  const deployRec = anchored.map((r) => r.record).find((r) => r.action === 'migrate.deploy' && r.verdict === 'ok');
  assert.equal(deployRec?.details?.identity?.subject, `repo:${REPO_NAME}:environment:production`);
  assert.ok(anchored.some((r) => r.record.action === 'migrate.deploy' && r.record.verdict === 'refused'), 'the refused attempts are anchored too');
  const cps = readdirSync(join(root, 'offsite/audit-checkpoints'));
  assert.ok(cps.length >= 1, 'the deploy runner wrote a signed checkpoint off the machine');
  assert.deepEqual(await sql(prod, 'SELECT version FROM prodguard.policy_pin'), [{ version: 1 }], 'production remembers the policy it deployed under');

  // Attack on the team store: dave (write access to it, not to production) replaces the policy chain
  // with a policy he pinned himself, as a senior of his own working tree.
  const mallory = checkout(repo, 'dave-attack');
  const y = parse(readFileSync(join(mallory, 'prodguard.yaml'), 'utf8'));
  y.team.find((m: { name: string }) => m.name === 'dave').role = 'senior';
  y.migrations.approvals = { required: 1 };
  writeFileSync(join(mallory, 'prodguard.yaml'), stringify(y));
  await sql(team, `DELETE FROM prodguard_state.documents WHERE collection = 'policy-chain'`);
  // The team store's append-only audit log records version 1 as in force: re-pinning is a rewrite (ap-045).
  const repin = await runCli(['policy', 'init', '--key', k.dave.privateKeyFile], { cwd: mallory, env: laptopEnv });
  assert.equal(repin.code, 1, repin.stderr);
  assert.match(repin.stderr, /policy chain rolled back or rewritten: .*records policy version 1 .* but the chain is empty.*must be repaired, not re-pinned/);
  writeFileSync(join(repo, 'migrations/0003_more.sql'), 'ALTER TABLE items ADD COLUMN note text;\n');
  const after = await runJob(repo, wf.jobs['deploy-production'], 'deploy-after-repin', secrets);
  assert.notEqual(after[0].code, 0);
  assert.match(after[0].out, /\[policy\] policy chain rolled back or rewritten/);
  // The production pin check (src/policy/production-pin.ts) is exercised by test/policy/rollback.test.ts (ap-061).
});
