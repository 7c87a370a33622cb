/**
 * Key material and state where they belong (issue #11): private keys outside the repository by
 * default, a .gitignore that keeps state, keys and local backups out of git but approvals in,
 * owner-only state files, and status warnings for keys or production URLs inside the repository.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { makeProject, runCli } from '../helpers/cli.js';
import { sharedCluster, createDatabase } from '../helpers/pg.js';

const cluster = sharedCluster({ name: 'prodguard-test-keys-state' });
const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' });

function gitProject() {
  const p = makeProject({ 'migrations/0001_init.sql': 'CREATE TABLE t (id bigint);\n' });
  cleanups.push(p.cleanup);
  git(p.dir, 'init', '-q', '.');
  const xdg = mkdtempSync(join(tmpdir(), 'prodguard-test-xdg-'));
  cleanups.push(() => rmSync(xdg, { recursive: true, force: true }));
  return { dir: p.dir, xdg };
}

test('git status after init + keys generate + migrate approve shows the approvals and no keys, state or audit log', async () => {
  const { dir, xdg } = gitProject();
  const prodUrl = await createDatabase(cluster(), 'ks_prod');
  const stagingUrl = await createDatabase(cluster(), 'ks_staging');
  const env = { XDG_CONFIG_HOME: xdg, PRODUCTION_DATABASE_URL: prodUrl, STAGING_DATABASE_URL: stagingUrl, CI: undefined };
  const init = await runCli(['init', '--yes', '--senior', 'bob', '--senior', 'carol'], { cwd: dir, env });
  assert.equal(init.code, 0, init.stderr);
  const keys: Record<string, { keyFile: string; publicKey: string }> = {};
  for (const name of ['alice', 'bob', 'carol']) {
    const k = await runCli(['keys', 'generate', '--name', name, '--json'], { cwd: dir, env });
    assert.equal(k.code, 0, k.stderr);
    keys[name] = JSON.parse(k.stdout);
    assert.equal(keys[name].keyFile, join(xdg, 'prodguard', 'keys', `${name}.ed25519.key`), 'default key location is the per-user config dir');
    assert.equal(statSync(keys[name].keyFile).mode & 0o777, 0o600);
  }
  // A key made inside the repository on purpose (--out) is ignored by the .gitignore section.
  const inside = await runCli(['keys', 'generate', '--name', 'dave', '--out', '.prodguard/keys', '--json'], { cwd: dir, env });
  assert.equal(inside.code, 0, inside.stderr);
  assert.match(inside.stderr, /inside the repository/);
  const raw = parse(readFileSync(join(dir, 'prodguard.yaml'), 'utf8'));
  raw.team = [
    { name: 'alice', role: 'senior', publicKey: keys.alice.publicKey },
    { name: 'bob', role: 'senior', publicKey: keys.bob.publicKey },
    { name: 'carol', role: 'senior', publicKey: keys.carol.publicKey },
  ];
  writeFileSync(join(dir, 'prodguard.yaml'), stringify(raw));
  // Approvals are judged by the policy in force, which a senior pins first.
  const pin = await runCli(['policy', 'init', '--key', keys.alice.keyFile], { cwd: dir, env });
  assert.equal(pin.code, 0, pin.stderr);
  const req = await runCli(['migrate', 'request', '--env', 'production', '--key', keys.alice.keyFile, '--json'], { cwd: dir, env: { ...env, PRODGUARD_ACTOR: 'alice' } });
  assert.equal(req.code, 0, req.stderr);
  const hash = JSON.parse(req.stdout).change.hash as string;
  const ap = await runCli(['migrate', 'approve', hash.slice(0, 12), '--key', keys.bob.keyFile], { cwd: dir, env });
  assert.equal(ap.code, 0, ap.stderr);

  const status = git(dir, 'status', '--porcelain', '--untracked-files=all').split('\n').filter(Boolean).map((l) => l.slice(3));
  assert.ok(status.some((f) => /^\.prodguard\/approvals\/.*bob.*\.json$/.test(f)), status.join('\n'));
  assert.ok(status.some((f) => /^\.prodguard\/approvals\/.*\.change\.json$/.test(f)), status.join('\n'));
  assert.ok(status.includes('.gitignore') && status.includes('prodguard.yaml'), status.join('\n'));
  for (const f of status) assert.doesNotMatch(f, /\.key$|keys\/|state\.db|audit\.jsonl|backups\//, `${f} must not be committable`);
  assert.equal(statSync(join(dir, '.prodguard/state.db')).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, '.prodguard/audit.jsonl')).mode & 0o777, 0o600);
  // init is idempotent with respect to its .gitignore section.
  const again = await runCli(['init', '--yes', '--force'], { cwd: dir, env });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(readFileSync(join(dir, '.gitignore'), 'utf8').match(/>>> prodguard/g)?.length, 1);
});

test('status warns about a private key inside the repository and fails when one or the production URL is committable', async () => {
  const { dir, xdg } = gitProject();
  const prodUrl = 'postgresql://app:s3cret-pw@db.example.invalid:5432/app';
  const env = { XDG_CONFIG_HOME: xdg, PRODUCTION_DATABASE_URL: prodUrl };
  assert.equal((await runCli(['init', '--yes'], { cwd: dir, env })).code, 0);
  const check = async () => {
    const r = await runCli(['status', '--json'], { cwd: dir, env });
    const s = JSON.parse(r.stdout);
    const c = s.rules.flatMap((x: { checks: unknown[] }) => x.checks).find((x: { id: string }) => x.id === 'secrets.outside-repo');
    assert.ok(c, r.stdout.slice(0, 500));
    assert.doesNotMatch(r.stdout + r.stderr, /s3cret-pw/, 'status never prints the password');
    return c as { state: string; reason: string };
  };
  assert.equal((await check()).state, 'ok');
  mkdirSync(join(dir, '.prodguard/keys'), { recursive: true });
  assert.equal((await runCli(['keys', 'generate', '--name', 'eve', '--out', '.prodguard/keys'], { cwd: dir, env })).code, 0);
  let c = await check();
  assert.equal(c.state, 'missing');
  assert.match(c.reason, /private key .prodguard\/keys\/eve\.ed25519\.key is inside the repository \(ignored by git\)/);
  // Any *.ed25519.key is ignored by init's section; the same key under another name is not.
  assert.equal((await runCli(['keys', 'generate', '--name', 'mallory', '--out', 'config'], { cwd: dir, env })).code, 0);
  copyFileSync(join(dir, 'config/mallory.ed25519.key'), join(dir, 'config/signing.pem'));
  writeFileSync(join(dir, '.env.production'), `DATABASE_URL=${prodUrl}\n`);
  c = await check();
  assert.equal(c.state, 'failing');
  assert.match(c.reason, /private key config\/mallory\.ed25519\.key is inside the repository \(ignored by git\)/);
  assert.match(c.reason, /private key config\/signing\.pem is not ignored by git/);
  assert.match(c.reason, /production URL of "production" is in \.env\.production \(not ignored by git\)/);
  assert.ok(existsSync(join(dir, '.gitignore')));
});

test('init fixes an old .gitignore that hid all of .prodguard/ (approvals included), and a second run changes nothing', async () => {
  const { dir } = gitProject();
  writeFileSync(join(dir, '.gitignore'), 'node_modules/\n.prodguard/\n');
  const { ensureGitignoreSection } = await import('../../src/init/gitignore.js');
  const first = ensureGitignoreSection(dir);
  assert.deepEqual(first.disabled, ['.prodguard/']);
  const text = readFileSync(first.file, 'utf8');
  assert.deepEqual(ensureGitignoreSection(dir).disabled, []);
  assert.equal(readFileSync(first.file, 'utf8'), text, 'idempotent');
  const ignored = (rel: string) => {
    try {
      git(dir, 'check-ignore', '-q', '--', rel);
      return true;
    } catch {
      return false;
    }
  };
  for (const rel of ['.prodguard/state.db', '.prodguard/audit.jsonl', '.prodguard/keys/a.ed25519.key', '.prodguard/backups/x/dump', '.prodguard/wal/000000010000000000000001', 'config/b.ed25519.key', 'node_modules/x']) assert.ok(ignored(rel), `${rel} must be ignored`);
  for (const rel of ['.prodguard/approvals/abc-bob.json', '.prodguard/approvals/abc.change.json', '.prodguard/policy.json', 'prodguard.yaml', 'migrations/0001_init.sql']) assert.ok(!ignored(rel), `${rel} must be committable`);
});
