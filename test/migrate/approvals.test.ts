import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { sharedCluster } from '../helpers/pg.js';
import { migrateFixture, type MigrateFixture } from './fixture.js';
import { applyToStaging } from '../../src/migrate/staging-apply.js';
import { applyMigrations } from '../../src/migrate/apply.js';
import { readMigrations } from '../../src/migrate/files.js';
import { historyTarget } from '../../src/migrate/history.js';
import { envState } from '../../src/migrate/change.js';
import { requestChange } from '../../src/migrate/request.js';
import { approveChange } from '../../src/migrate/approve.js';
import { evaluateApprovals, signApproval, writeApproval, approvalsDir } from '../../src/migrate/approvals.js';
import { loadPrivateKey } from '../../src/migrate/keys.js';
import { runCli } from '../helpers/cli.js';

const cluster = sharedCluster({ name: 'prodguard-test-approvals' });
let fx: MigrateFixture;
let changeHash: string;
const ADD_SKU = 'ALTER TABLE items ADD COLUMN sku text;\n';

let ready: Promise<void> | undefined;
const setup = () => (ready ??= (async () => {
  fx = await migrateFixture(cluster(), 'appr');
  const ctx = fx.ctx();
  await applyToStaging(ctx, 'staging');
  // Production's baseline is set up directly (the deploy path is tested in deploy.test.ts).
  await applyMigrations(ctx.loaded, fx.prodUrl, readMigrations(ctx.loaded).files, { actor: 'setup', changeHash: 'setup', history: historyTarget(ctx.loaded) });
  fx.writeMigration('0002_add_sku.sql', ADD_SKU);
  await applyToStaging(ctx, 'staging');
  process.env.PRODGUARD_ACTOR = 'alice';
  const r = await requestChange(ctx, 'production', { keyFile: fx.keyFile('alice') });
  changeHash = r.change.hash;
  delete process.env.PRODGUARD_ACTOR;
})());
after(async () => {
  await fx?.cleanup();
});

async function current() {
  const s = await envState(fx.ctx().loaded, 'production');
  return evaluateApprovals(fx.ctx().loaded, s.change, 'alice');
}

function reasonsFor(summary: Awaited<ReturnType<typeof current>>, approver: string): string[] {
  return summary.verdicts.filter((v) => v.approver === approver && !v.valid).map((v) => v.reason ?? '');
}

test('two seniors who are not the author make a change approved; the approval is a signed file', async () => {
  await setup();
  fx.clearApprovals();
  await approveChange(fx.ctx(), changeHash.slice(0, 12), { keyFile: fx.keyFile('bob') });
  let s = await current();
  assert.equal(s.ok, false, 'one approval is not enough');
  assert.deepEqual(s.validApprovers, ['bob']);
  await approveChange(fx.ctx(), changeHash.slice(0, 12), { keyFile: fx.keyFile('carol') });
  s = await current();
  assert.equal(s.ok, true);
  assert.deepEqual(s.validApprovers.sort(), ['bob', 'carol']);
  const files = readdirSync(approvalsDir(fx.ctx().loaded)).filter((f) => !f.endsWith('.change.json'));
  assert.equal(files.length, 2);
  const a = JSON.parse(readFileSync(join(approvalsDir(fx.ctx().loaded), files[0]), 'utf8'));
  assert.equal(a.changeHash, changeHash);
  assert.equal(a.environment, 'production');
  assert.match(a.signature, /^[A-Za-z0-9+/]+=*$/);
});

test('self-approval is rejected, by the approve command and in a hand-written approval file', async () => {
  await setup();
  fx.clearApprovals();
  await assert.rejects(approveChange(fx.ctx(), changeHash, { keyFile: fx.keyFile('alice') }), /self-approval: "alice" is the author of the change/);
  const s0 = await envState(fx.ctx().loaded, 'production');
  writeApproval(fx.ctx().loaded, signApproval(loadPrivateKey(fx.keyFile('alice')), { approver: 'alice', environment: 'production', migrations: s0.change.migrations }));
  const s = await current();
  assert.equal(s.validApprovers.length, 0);
  assert.match(reasonsFor(s, 'alice')[0], /self-approval/);
});

test('an approval by a non-senior is rejected with its role', async () => {
  await setup();
  fx.clearApprovals();
  await assert.rejects(approveChange(fx.ctx(), changeHash, { keyFile: fx.keyFile('dave') }), /"dave" has role developer; production changes need role senior/);
  const s0 = await envState(fx.ctx().loaded, 'production');
  writeApproval(fx.ctx().loaded, signApproval(loadPrivateKey(fx.keyFile('dave')), { approver: 'dave', environment: 'production', migrations: s0.change.migrations }));
  assert.match(reasonsFor(await current(), 'dave')[0], /role developer/);
});

test('a forged signature (someone else\'s key claiming to be bob) is rejected', async () => {
  await setup();
  fx.clearApprovals();
  const s0 = await envState(fx.ctx().loaded, 'production');
  const mallory = generateKeyPairSync('ed25519').privateKey;
  writeApproval(fx.ctx().loaded, signApproval(mallory, { approver: 'bob', environment: 'production', migrations: s0.change.migrations }));
  const s = await current();
  assert.equal(s.validApprovers.length, 0);
  assert.match(reasonsFor(s, 'bob')[0], /invalid signature/);
  // A key that belongs to nobody cannot approve through the command either.
  const f = join(fx.dir, 'mallory.pem');
  writeFileSync(f, mallory.export({ format: 'pem', type: 'pkcs8' }));
  await assert.rejects(approveChange(fx.ctx(), changeHash, { keyFile: f }), /belongs to no team member/);
  await assert.rejects(approveChange(fx.ctx(), changeHash, { keyFile: f, as: 'bob' }), /is not bob's/);
});

test('a tampered approval file is rejected: edited time breaks the signature, an edited migration list breaks the hash', async () => {
  await setup();
  fx.clearApprovals();
  const { file } = await approveChange(fx.ctx(), changeHash, { keyFile: fx.keyFile('bob') });
  const original = readFileSync(file, 'utf8');
  const a = JSON.parse(original);
  writeFileSync(file, JSON.stringify({ ...a, time: new Date(Date.now() + 60_000).toISOString() }));
  assert.match(reasonsFor(await current(), 'bob')[0], /invalid signature/);
  writeFileSync(file, JSON.stringify({ ...a, migrations: a.migrations.map((m: { file: string }) => ({ ...m, sha256: '0'.repeat(64) })) }));
  assert.match(reasonsFor(await current(), 'bob')[0], /tampered/);
  writeFileSync(file, '{ not json');
  assert.match((await current()).verdicts[0].reason ?? '', /not valid JSON/);
  writeFileSync(file, original);
  assert.deepEqual((await current()).validApprovers, ['bob']);
});

test('changing a migration after approval voids the approvals and names the file', async () => {
  await setup();
  fx.clearApprovals();
  await approveChange(fx.ctx(), changeHash, { keyFile: fx.keyFile('bob') });
  await approveChange(fx.ctx(), changeHash, { keyFile: fx.keyFile('carol') });
  assert.equal((await current()).ok, true);
  fx.writeMigration('0002_add_sku.sql', ADD_SKU + 'ALTER TABLE items ADD COLUMN secret text;\n');
  try {
    const s = await current();
    assert.equal(s.ok, false);
    assert.equal(s.validApprovers.length, 0);
    for (const who of ['bob', 'carol']) assert.match(reasonsFor(s, who)[0], /void: 0002_add_sku\.sql changed after the approval/);
    await assert.rejects(approveChange(fx.ctx(), changeHash, { keyFile: fx.keyFile('bob') }), /no longer what production would run/);
  } finally {
    fx.writeMigration('0002_add_sku.sql', ADD_SKU);
  }
  assert.equal((await current()).ok, true);
});

test('an expired approval, a duplicate and an approver outside the team are rejected', async () => {
  await setup();
  fx.clearApprovals();
  const s0 = await envState(fx.ctx().loaded, 'production');
  const old = new Date(Date.now() - 73 * 3600_000);
  writeApproval(fx.ctx().loaded, signApproval(loadPrivateKey(fx.keyFile('carol')), { approver: 'carol', environment: 'production', migrations: s0.change.migrations, time: old }));
  let s = await current();
  assert.match(reasonsFor(s, 'carol')[0], /expired: signed .*, approvals expire after 72h/);
  fx.clearApprovals();
  const bob = loadPrivateKey(fx.keyFile('bob'));
  const a1 = signApproval(bob, { approver: 'bob', environment: 'production', migrations: s0.change.migrations });
  const a2 = signApproval(bob, { approver: 'bob', environment: 'production', migrations: s0.change.migrations, time: new Date(Date.now() - 1000) });
  writeApproval(fx.ctx().loaded, a1);
  writeFileSync(join(approvalsDir(fx.ctx().loaded), 'second-bob.json'), JSON.stringify(a2));
  writeApproval(fx.ctx().loaded, signApproval(bob, { approver: 'mallory', environment: 'production', migrations: s0.change.migrations }));
  s = await current();
  assert.deepEqual(s.validApprovers, ['bob']);
  assert.equal(s.ok, false);
  assert.match(reasonsFor(s, 'bob').join('\n'), /duplicate/);
  assert.match(reasonsFor(s, 'mallory')[0], /not in the config's team/);
});

test('keys generate writes a 0600 private key, prints only the public key', async () => {
  await setup();
  const r = await runCli(['keys', 'generate', '--name', 'erin', '--out', join(fx.dir, 'newkeys'), '--json'], { cwd: fx.dir });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.match(out.publicKey, /^ed25519:[A-Za-z0-9+/]+=*$/);
  const { statSync } = await import('node:fs');
  assert.equal(statSync(out.keyFile).mode & 0o777, 0o600);
  const pem = readFileSync(out.keyFile, 'utf8');
  assert.ok(!r.stdout.includes(pem.split('\n')[1]), 'private key material printed');
  const rec = fx.ctx().auditLog.read().find((a) => a.action === 'keys.generate');
  assert.ok(rec, 'keys generate is audited inside a project');
  assert.ok(!JSON.stringify(rec).includes(pem.split('\n')[1]), 'private key material audited');
  const again = await runCli(['keys', 'generate', '--name', 'erin', '--out', join(fx.dir, 'newkeys')], { cwd: fx.dir });
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already exists; refusing to overwrite/);
});

test('a senior who committed a migration of the change is its author too (git history), whoever requested it', async () => {
  await setup();
  fx.clearApprovals();
  const { spawnSync } = await import('node:child_process');
  const { rmSync } = await import('node:fs');
  const git = (args: string[], who = 'carol') =>
    spawnSync('git', ['-c', `user.name=${who}`, '-c', `user.email=${who}@acme.example`, ...args], { cwd: fx.dir, encoding: 'utf8' });
  try {
    assert.equal(git(['init', '-q']).status, 0);
    assert.equal(git(['add', 'migrations']).status, 0);
    assert.equal(git(['commit', '-q', '-m', 'add sku']).status, 0, 'commit as carol');
    await assert.rejects(approveChange(fx.ctx(), changeHash, { keyFile: fx.keyFile('carol') }), /self-approval: "carol" is an author of the change \(git history of 0001_init\.sql, 0002_add_sku\.sql\)|self-approval: "carol" is an author of the change \(git history of 0002_add_sku\.sql\)/);
    await approveChange(fx.ctx(), changeHash, { keyFile: fx.keyFile('bob') });
    const s0 = await envState(fx.ctx().loaded, 'production');
    writeApproval(fx.ctx().loaded, signApproval(loadPrivateKey(fx.keyFile('carol')), { approver: 'carol', environment: 'production', migrations: s0.change.migrations }));
    const { gitAuthors } = await import('../../src/migrate/git-authors.js');
    const s = evaluateApprovals(fx.ctx().loaded, s0.change, 'alice', new Date(), gitAuthors(fx.dir, s0.change.migrations.map((m) => m.path)));
    assert.deepEqual(s.validApprovers, ['bob']);
    assert.match(reasonsFor(s, 'carol')[0], /self-approval: "carol" is an author of the change \(git history of 0002_add_sku\.sql\)/);
  } finally {
    rmSync(join(fx.dir, '.git'), { recursive: true, force: true });
  }
});
