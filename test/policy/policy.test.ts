import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sharedCluster } from '../helpers/pg.js';
import { runCli } from '../helpers/cli.js';
import { migrateFixture, type MigrateFixture } from '../migrate/fixture.js';
import { applyToStaging } from '../../src/migrate/staging-apply.js';
import { applyMigrations } from '../../src/migrate/apply.js';
import { readMigrations } from '../../src/migrate/files.js';
import { historyTarget } from '../../src/migrate/history.js';
import { envState } from '../../src/migrate/change.js';
import { requestChange } from '../../src/migrate/request.js';
import { approveChange } from '../../src/migrate/approve.js';
import { evaluateGate } from '../../src/migrate/gate.js';
import { generateKeys } from '../../src/migrate/keys.js';
import { signApproval, writeApproval } from '../../src/migrate/approvals.js';
import { loadPrivateKey } from '../../src/migrate/keys.js';
import { initPolicy, proposePolicy, signPolicyProposal, policyStatus } from '../../src/policy/rotate.js';
import { policyInForce, POLICY_CHAIN, chainId } from '../../src/policy/chain.js';
import { policyHash } from '../../src/policy/document.js';

const cluster = sharedCluster({ name: 'prodguard-test-policy' });
let fx: MigrateFixture;
let changeHash: string;
let mallory: { a: ReturnType<typeof generateKeys>; b: ReturnType<typeof generateKeys> };

let ready: Promise<void> | undefined;
const setup = () =>
  (ready ??= (async () => {
    fx = await migrateFixture(cluster(), 'pol');
    const ctx = fx.ctx();
    await applyToStaging(ctx, 'staging');
    await applyMigrations(ctx.loaded, fx.prodUrl, readMigrations(ctx.loaded).files, { actor: 'setup', changeHash: 'setup', history: historyTarget(ctx.loaded) });
    fx.writeMigration('0002_add_sku.sql', 'ALTER TABLE items ADD COLUMN sku text;\n');
    await applyToStaging(ctx, 'staging');
    process.env.PRODGUARD_ACTOR = 'dave';
    changeHash = (await requestChange(ctx, 'production', { keyFile: fx.keyFile('dave') })).change.hash;
    delete process.env.PRODGUARD_ACTOR;
    mallory = { a: generateKeys({ name: 'dave-alt1', outDir: join(fx.dir, 'dave-keys') }), b: generateKeys({ name: 'dave-alt2', outDir: join(fx.dir, 'dave-keys') }) };
  })());
after(async () => {
  await fx?.cleanup();
});

const gateCheck = async (name: string) => {
  const g = await evaluateGate(fx.ctx(), await envState(fx.ctx().loaded, 'production'));
  return g.checks.find((c) => c.name === name)!;
};

test('attack: a branch adds two keys its author holds as seniors and lowers approvals.required; they approve the change; the gate judges by the policy in force', async () => {
  await setup();
  fx.clearApprovals();
  await fx.updateConfig((raw) => {
    raw.team.push({ name: 'dave2', role: 'senior', publicKey: mallory.a.publicKey }, { name: 'dave3', role: 'senior', publicKey: mallory.b.publicKey });
    raw.migrations.approvals.required = 1;
    raw.migrations.approvals.expireAfter = '9999d';
  });
  try {
    await assert.rejects(approveChange(fx.ctx(), changeHash, { keyFile: mallory.a.privateKeyFile }), /belongs to no team member \(not in the team of the policy in force \(version 1\)/);
    // Written by hand, as the attacker would, bypassing the approve command.
    const s = await envState(fx.ctx().loaded, 'production');
    for (const [name, k] of [['dave2', mallory.a], ['dave3', mallory.b]] as const) {
      writeApproval(fx.ctx().loaded, signApproval(loadPrivateKey(k.privateKeyFile), { approver: name, environment: 'production', migrations: s.change.migrations }));
    }
    const approvals = await gateCheck('approvals');
    assert.equal(approvals.ok, false);
    assert.match(approvals.detail, /0 of 2 required valid approvals/);
    assert.match(approvals.detail, /dave2: approver "dave2" is not in the team of the policy in force \(version 1\)/);
    const pol = await gateCheck('policy');
    assert.equal(pol.ok, true);
    assert.match(pol.detail, /working tree's prodguard\.yaml policy differs: proposed, not in force/);
    const st = await policyStatus(fx.ctx());
    assert.equal(st.workingTree, 'proposed, not in force');
    assert.equal(st.inForce?.approvalsRequired, 2);
    const audit = fx.ctx().auditLog.read().filter((r) => r.action === 'migrate.approve' && r.verdict === 'refused');
    assert.ok(audit.some((r) => /belongs to no team member/.test(r.reason)), 'the refused approval is audited');
  } finally {
    await fx.updateConfig((raw) => {
      raw.team = raw.team.filter((m: { name: string }) => !m.name.startsWith('dave') || m.name === 'dave');
      raw.migrations.approvals.required = 2;
      raw.migrations.approvals.expireAfter = '72h';
    });
    fx.clearApprovals();
  }
});

test('the same public key under two names is refused in a policy, and never counts twice as approvals', async () => {
  await setup();
  await fx.updateConfig((raw) => {
    raw.team.push({ name: 'robert', role: 'senior', publicKey: fx.publicKey('bob') });
  });
  try {
    await assert.rejects(proposePolicy(fx.ctx()), /the same public key is listed under two names \("bob" and "robert"\)/);
    assert.ok(fx.ctx().auditLog.read().some((r) => r.action === 'policy.propose' && r.verdict === 'refused' && /two names/.test(r.reason)), 'audited');
  } finally {
    await fx.updateConfig((raw) => {
      raw.team = raw.team.filter((m: { name: string }) => m.name !== 'robert');
    });
  }
  await fx.updateConfig((raw) => {
    raw.team.find((m: { name: string }) => m.name === 'bob').email = 'x@acme.test';
    raw.team.find((m: { name: string }) => m.name === 'carol').email = 'X@acme.test';
  });
  try {
    await assert.rejects(proposePolicy(fx.ctx()), /the same e-mail X@acme\.test is listed under two names \("bob" and "carol"\)/);
  } finally {
    await fx.updateConfig((raw) => {
      for (const m of raw.team) delete m.email;
    });
  }
  // A policy cannot be pinned with it either.
  const { evaluateApprovals } = await import('../../src/migrate/approvals.js');
  const s = await envState(fx.ctx().loaded, 'production');
  fx.clearApprovals();
  const bob = loadPrivateKey(fx.keyFile('bob'));
  writeApproval(fx.ctx().loaded, signApproval(bob, { approver: 'bob', environment: 'production', migrations: s.change.migrations }));
  writeApproval(fx.ctx().loaded, signApproval(bob, { approver: 'robert', environment: 'production', migrations: s.change.migrations }));
  const terms = { members: [...fx.ctx().loaded.config.team, { name: 'robert', role: 'senior' as const, publicKey: fx.publicKey('bob') }], approvals: { required: 2, expireAfter: '72h' }, source: 'test' };
  const sum = evaluateApprovals(fx.ctx().loaded, s.change, 'dave', new Date(), [], terms);
  assert.deepEqual(sum.validApprovers, ['bob']);
  assert.ok(sum.verdicts.some((v) => v.approver === 'robert' && /duplicate key/.test(v.reason ?? '')));
  fx.clearApprovals();
});

test('a policy change signed by fewer seniors than the policy in force requires has no effect; with enough it takes effect and is audited', async () => {
  await setup();
  const before = (await policyInForce(fx.ctx())).inForce!;
  assert.equal(before.policy.version, 1);
  await fx.updateConfig((raw) => {
    raw.migrations.approvals.required = 3;
  });
  const p = await proposePolicy(fx.ctx());
  assert.equal(p.policy.version, 2);
  // dave is a developer: refused, nothing changes.
  await assert.rejects(signPolicyProposal(fx.ctx(), { keyFile: fx.keyFile('dave') }), /dave has role developer in the policy in force; only seniors sign policy changes/);
  // A key outside the policy in force: refused.
  await assert.rejects(signPolicyProposal(fx.ctx(), { keyFile: mallory.a.privateKeyFile }), /belongs to no member of the policy in force/);
  const one = await signPolicyProposal(fx.ctx(), { keyFile: fx.keyFile('alice') });
  assert.equal(one.inForce, false);
  assert.equal(one.signers.length, 1);
  // Signing twice with the same key is still one signature.
  const again = await signPolicyProposal(fx.ctx(), { keyFile: fx.keyFile('alice') });
  assert.equal(again.inForce, false);
  assert.equal(again.signers.length, 1);
  assert.equal((await policyInForce(fx.ctx())).inForce!.policy.version, 1, 'one of two signatures: no effect');
  assert.equal((await policyStatus(fx.ctx())).workingTree, 'proposed, not in force');
  const cli = await runCli(['policy', 'status'], { cwd: fx.dir, env: fx.env });
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /policy version 1 in force/);
  assert.match(cli.stdout, /proposed, not in force/);
  assert.match(cli.stdout, /1 of 2 signature\(s\)/);
  // The second senior signs through the CLI, as a person would.
  const two = await runCli(['policy', 'sign', '--key', fx.keyFile('bob'), '--json'], { cwd: fx.dir, env: fx.env });
  assert.equal(two.code, 0, two.stderr);
  assert.equal(JSON.parse(two.stdout).inForce, true);
  await fx.updateConfig(() => {}); // reopen: the CLI wrote to the store
  const now = (await policyInForce(fx.ctx())).inForce!;
  assert.equal(now.policy.version, 2);
  assert.equal(now.policy.previous, before.hash);
  assert.equal(now.policy.approvals.required, 3);
  assert.equal((await policyStatus(fx.ctx())).workingTree, 'in force');
  const audit = fx.ctx().auditLog.read();
  assert.ok(audit.some((r) => r.action === 'policy.change' && r.verdict === 'ok' && /version 2 .* is in force, signed by alice, bob \(2 of 2 required by version 1\)/.test(r.reason)));
  assert.ok(audit.some((r) => r.action === 'policy.sign' && /1 of 2 senior signature/.test(r.reason)));
});

test('a policy written into the state store by hand, or a second pin, does not take effect: the chain is verified on every read', async () => {
  await setup();
  const inForce = (await policyInForce(fx.ctx())).inForce!;
  const store = await fx.ctx().store();
  const forged = { ...inForce.policy, version: inForce.policy.version + 1, previous: inForce.hash, approvals: { required: 1, expireAfter: '9999d' } };
  await store.put(POLICY_CHAIN, chainId(forged.version), { policy: forged, signatures: [] });
  try {
    const r = await policyInForce(fx.ctx());
    assert.equal(r.inForce, null);
    assert.match(r.problem!, new RegExp(`policy chain broken at version ${forged.version}: version ${forged.version} has 0 of the 2 senior signature\\(s\\)`));
    const pol = await gateCheck('policy');
    assert.equal(pol.ok, false);
    assert.match(pol.detail, /policy chain broken/);
    await assert.rejects(initPolicy(fx.ctx(), { keyFile: fx.keyFile('alice') }), /must be repaired, not re-pinned/);
  } finally {
    await store.delete(POLICY_CHAIN, chainId(forged.version));
  }
  await assert.rejects(initPolicy(fx.ctx(), { keyFile: fx.keyFile('alice') }), /a policy is already in force/);
  assert.equal(policyHash((await policyInForce(fx.ctx())).inForce!.policy), inForce.hash);
});

test('without a pinned policy nothing can be approved and the gate says how to pin one', async () => {
  const f2 = await migrateFixture(cluster(), 'pol_none', { pinPolicy: false });
  try {
    await applyToStaging(f2.ctx(), 'staging');
    f2.writeMigration('0002_x.sql', 'CREATE TABLE x (id int);\n');
    process.env.PRODGUARD_ACTOR = 'dave';
    await applyMigrations(f2.ctx().loaded, f2.prodUrl, readMigrations(f2.ctx().loaded).files.slice(0, 1), { actor: 'setup', changeHash: 'setup', history: historyTarget(f2.ctx().loaded) });
    // Without a policy nobody is a member: a request cannot even be signed, so nothing can be approved.
    await assert.rejects(requestChange(f2.ctx(), 'production', { keyFile: f2.keyFile('dave') }), /no policy in force: a senior pins the first one with prodguard policy init/);
    delete process.env.PRODGUARD_ACTOR;
    const g = await evaluateGate(f2.ctx(), await envState(f2.ctx().loaded, 'production'));
    assert.match(g.checks.find((c) => c.name === 'policy')!.detail, /no policy in force/);
    // A developer cannot pin it.
    await assert.rejects(initPolicy(f2.ctx(), { keyFile: f2.keyFile('dave') }), /is not a senior's key in the policy being pinned/);
    const r = await runCli(['policy', 'init', '--key', f2.keyFile('carol')], { cwd: f2.dir, env: f2.env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /policy version 1 pinned .* by carol/);
  } finally {
    delete process.env.PRODGUARD_ACTOR;
    await f2.cleanup();
  }
});

test('attack: an unsigned or edited change request is no request: the gate refuses it and nothing can be approved against it', async () => {
  await setup();
  const { CHANGES } = await import('../../src/migrate/records.js');
  const store = await fx.ctx().store();
  const signed = (await store.get<Record<string, unknown>>(CHANGES, changeHash))!;
  assert.ok(signed.signature, 'migrate request signs the request');
  assert.equal(signed.author, 'dave', 'the author is the key holder, not a claimed name');
  try {
    // Unsigned, claiming bob as the author (so that dave could approve it).
    const { signature: _s, publicKey: _k, ...unsigned } = signed;
    await store.put(CHANGES, changeHash, { ...unsigned, author: 'bob' });
    let c = await gateCheck('request');
    assert.equal(c.ok, false);
    assert.match(c.detail, /is not signed \(an unsigned request is no request/);
    await assert.rejects(approveChange(fx.ctx(), changeHash, { keyFile: fx.keyFile('carol') }), /no valid request: .* is not signed/);
    // Signed by dave, author edited to bob afterwards.
    await store.put(CHANGES, changeHash, { ...signed, author: 'bob' });
    c = await gateCheck('request');
    assert.equal(c.ok, false);
    assert.match(c.detail, /the request is not signed with bob's key/);
    // Signed, its time edited.
    await store.put(CHANGES, changeHash, { ...signed, requestedAt: new Date(0).toISOString() });
    assert.match((await gateCheck('request')).detail, /has an invalid signature/);
    const refused = fx.ctx().auditLog.read().filter((r) => r.action === 'migrate.approve' && r.verdict === 'refused');
    assert.ok(refused.some((r) => /no valid request/.test(r.reason)));
  } finally {
    await store.put(CHANGES, changeHash, signed);
  }
  const c = await gateCheck('request');
  assert.equal(c.ok, true, c.detail);
  assert.match(c.detail, /requested by dave .*signature verified/);
});
