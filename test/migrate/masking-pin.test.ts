/**
 * Red team w5c-044: `staging.masking` is working tree. A developer wrote `strategy: keep` for
 * customers.name/email/phone, ran `prodguard staging refresh --yes`, and staging held production's
 * real names and e-mails. The policy in force now signs what staging may hold unmasked
 * (src/policy/masking-terms.ts); a refresh that would leave more unmasked is refused before
 * anything is fetched. Real clusters, real backups, the real CLI for the attack.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { sharedCluster, sql } from '../helpers/pg.js';
import { runCli } from '../helpers/cli.js';
import { migrateFixture, type MigrateFixture } from './fixture.js';
import { refreshStaging } from '../../src/migrate/staging-refresh.js';
import { createBackup, verifyBackup } from '../../src/backup/index.js';
import { appendToChain, readPolicyChain } from '../../src/policy/chain.js';
import { policyHash, termsFromConfig, type PolicyDocument } from '../../src/policy/document.js';
import { signPolicy } from '../../src/policy/signatures.js';
import { loadPrivateKey } from '../../src/migrate/keys.js';
import { pinPolicyInProduction } from '../../src/policy/production-pin.js';
import { RefusedError } from '../../src/errors.js';
import { checks as migrateChecks } from '../../src/status/checks/migrate.js';

const cluster = sharedCluster({ name: 'prodguard-test-maskpin' });
let fx: MigrateFixture;

const PROD_SQL = `
CREATE TABLE customers (id int PRIMARY KEY, name text, email text, phone text, notes text, prefs jsonb);
INSERT INTO customers SELECT i, 'Real Name ' || i, 'real' || i || '@cust.com', '+44 7700 9' || lpad(i::text, 5, '0'),
  'call me at real' || i || '@cust.com', jsonb_build_object('nick', 'Real Name ' || i, 'plan', 'pro')
  FROM generate_series(1, 20) i;
`;

/** What the seniors pinned with the first policy: everything masked whole, free text scrubbed. */
const SIGNED_RULES = [
  { table: 'customers', column: 'name', strategy: 'name' },
  { table: 'customers', column: 'email', strategy: 'email' },
  { table: 'customers', column: 'phone', strategy: 'phone' },
  { table: 'customers', column: 'notes', strategy: 'scrub' },
  { table: 'customers', column: 'prefs', strategy: 'name', paths: ['$.nick'] },
];
const ATTACK_RULES = [
  { table: 'customers', column: 'name', strategy: 'keep', reason: 'need it' },
  { table: 'customers', column: 'email', strategy: 'keep', reason: 'need it' },
  { table: 'customers', column: 'phone', strategy: 'keep', reason: 'need it' },
  ...SIGNED_RULES.slice(3),
];

let ready: Promise<void> | undefined;
const setup = () =>
  (ready ??= (async () => {
    fx = await migrateFixture(cluster(), 'mpin', { mutateConfig: (raw) => (raw.staging.masking = SIGNED_RULES) });
    await sql(fx.prodUrl, PROD_SQL);
    await sql(fx.stagingUrl, `CREATE TABLE old_marker (v text); INSERT INTO old_marker VALUES ('old staging')`);
    const b = await createBackup(fx.ctx(), { env: 'production' });
    await verifyBackup(fx.ctx(), b.manifest.id, { env: 'production' });
  })());

after(async () => {
  await fx?.cleanup();
});

const useRules = (rules: unknown[]) => fx.updateConfig((raw) => (raw.staging.masking = rules));

/** Status rule 3's masking-signature check (config and policy only). */
const maskingCheck = () => migrateChecks.find((c) => c.id === 'migrate.staging-masking-signed')!.run(fx.ctx());

async function stagingUntouched(): Promise<void> {
  assert.deepEqual(await sql(fx.stagingUrl, `SELECT v FROM old_marker`), [{ v: 'old staging' }], 'staging unchanged');
  assert.deepEqual(await sql(cluster().url('postgres'), `SELECT datname FROM pg_database WHERE datname LIKE '%\\_\\_pgref\\_%'`), [], 'no private copy left');
}

/** Puts the working tree's policy in force through the real commands: propose, then two seniors sign. */
async function seniorsSign(): Promise<void> {
  const p = await runCli(['policy', 'propose'], { cwd: fx.dir, env: fx.env });
  assert.equal(p.code, 0, p.stderr + p.stdout);
  for (const who of ['alice', 'bob'] as const) {
    const s = await runCli(['policy', 'sign', '--key', fx.keyFile(who)], { cwd: fx.dir, env: fx.env });
    assert.equal(s.code, 0, s.stderr + s.stdout);
  }
  await fx.updateConfig(() => {}); // a fresh context reads the new chain
}

test('w5c-044 replayed: unsigned keep rules for name/email/phone are refused before anything is copied; staging untouched', async () => {
  await setup();
  await useRules(ATTACK_RULES);
  try {
    const r = await runCli(['staging', 'refresh', '--yes'], { cwd: fx.dir, env: fx.env });
    assert.notEqual(r.code, 0, r.stdout);
    const err = r.stderr.trim();
    assert.equal(err.split('\n').length, 1, `one line: ${err}`);
    assert.match(err, /staging\.masking leaves column\(s\) of production's data unmasked or partly masked that the policy in force \(version 1\) does not sign/);
    assert.match(err, /public\.customers\.email \(configured: keep; signed: masked whole\)/);
    assert.match(err, /public\.customers\.name \(configured: keep; signed: masked whole\)/);
    assert.match(err, /public\.customers\.phone \(configured: keep; signed: masked whole\)/);
    assert.doesNotMatch(err, /at .*\.ts:\d+/, 'no stack trace');
    await stagingUntouched();
    const st = await maskingCheck();
    assert.equal(st.state, 'failing', st.reason);
    assert.match(st.reason, /kept or partly masked without a signature of policy version 1: public\.customers\.email \(configured: keep; signed: masked whole\)/);
    const plan = await runCli(['staging', 'plan'], { cwd: fx.dir, env: fx.env });
    assert.equal(plan.code, 1, plan.stdout + plan.stderr);
    assert.match(plan.stdout, /UNSIGNED public\.customers\.name \(configured: keep; signed: masked whole\): the policy in force must sign it/);
    // Refused before the backup was even fetched: no refresh was attempted (no "failed" record).
    await assert.rejects(refreshStaging(fx.ctx(), { yes: true }), (e: Error) => e instanceof RefusedError && e.code === 'staging.masking-unsigned');
    const audit = (await import('node:fs')).readFileSync(`${fx.dir}/.prodguard/audit.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { action: string; verdict: string; reason: string });
    const refresh = audit.filter((a) => a.action === 'staging.refresh');
    assert.ok(refresh.length >= 2 && refresh.every((a) => a.verdict === 'refused'), 'audited as refused, never as a failed copy');
  } finally {
    await useRules(SIGNED_RULES);
  }
  const ok = await maskingCheck();
  assert.equal(ok.state, 'ok', ok.reason);
  assert.match(ok.reason, /exactly the rules policy version 1 signs/);
});

test('partial masking the policy does not sign is refused too: scrub on a name column, a jsonb rule at paths that match nothing', async () => {
  await setup();
  for (const [rules, line] of [
    [[...SIGNED_RULES.filter((r) => r.column !== 'name'), { table: 'customers', column: 'name', strategy: 'scrub' }], /public\.customers\.name \(configured: scrub; signed: masked whole\)/],
    [[...SIGNED_RULES.filter((r) => r.column !== 'prefs'), { table: 'customers', column: 'prefs', strategy: 'name', paths: ['$.nothing'] }], /public\.customers\.prefs \(configured: name at \$\.nothing; signed: name at \$\.nick\)/],
    [[...SIGNED_RULES, { table: 'public.customers', column: 'id', strategy: 'keep', reason: 'ids' }], /public\.customers\.id \(configured: keep; signed: nothing\)/],
  ] as const) {
    await useRules(rules as unknown[]);
    await assert.rejects(refreshStaging(fx.ctx(), { yes: true }), (e: Error) => {
      assert.ok(e instanceof RefusedError && e.code === 'staging.masking-unsigned', e.message);
      assert.match(e.message, line);
      return true;
    });
    await stagingUntouched();
  }
  // Masking more than signed needs no signature: another whole rule, and prefs masked whole.
  await useRules([...SIGNED_RULES.filter((r) => r.column !== 'prefs'), { table: 'customers', column: 'prefs', strategy: 'null' }]);
  try {
    await refreshStaging(fx.ctx(), { yes: true });
    assert.deepEqual(await sql(fx.stagingUrl, `SELECT count(*)::int AS n FROM customers WHERE prefs IS NOT NULL OR name LIKE 'Real Name%'`), [{ n: 0 }]);
  } finally {
    await useRules(SIGNED_RULES);
    await sql(fx.stagingUrl, `CREATE TABLE IF NOT EXISTS old_marker (v text); DELETE FROM old_marker; INSERT INTO old_marker VALUES ('old staging')`);
  }
});

test('a signed rule deleted from prodguard.yaml (customers.name: detection does not recognise the column) is refused; the private copy is dropped', async () => {
  await setup();
  await useRules(SIGNED_RULES.filter((r) => r.column !== 'name'));
  try {
    await assert.rejects(refreshStaging(fx.ctx(), { yes: true }), (e: Error) => {
      assert.ok(e instanceof RefusedError && e.code === 'staging.masking-unsigned', e.message);
      assert.match(e.message, /staging is unchanged and the unmasked copy was dropped: staging\.masking no longer masks column\(s\) the policy in force \(version 1\) signs as masked — public\.customers\.name \(signed: masked whole; configured: no rule\)/);
      return true;
    });
    await stagingUntouched();
    const st = await maskingCheck();
    assert.equal(st.state, 'failing', st.reason);
    assert.match(st.reason, /signed masking gone from prodguard\.yaml: public\.customers\.name \(signed: masked whole; configured: no rule\)/);
  } finally {
    await useRules(SIGNED_RULES);
  }
});

test('the legit path: keep for customers.email signed by two seniors (policy propose + policy sign) is allowed; the rest stays masked', async () => {
  await setup();
  await useRules([...SIGNED_RULES.filter((r) => r.column !== 'email'), { table: 'customers', column: 'email', strategy: 'keep', reason: 'support needs real addresses' }]);
  const st = await runCli(['policy', 'status', '--json'], { cwd: fx.dir, env: fx.env });
  assert.equal(JSON.parse(st.stdout).workingTree, 'proposed, not in force');
  await assert.rejects(refreshStaging(fx.ctx(), { yes: true }), /public\.customers\.email \(configured: keep; signed: masked whole\)/);
  await seniorsSign();
  const chain = await readPolicyChain(fx.ctx());
  assert.ok(chain.ok && chain.inForce?.policy.version === 2);
  assert.deepEqual(chain.ok && chain.inForce?.policy.masking?.kept, ['public.customers.email']);
  const signed = await maskingCheck();
  assert.equal(signed.state, 'ok', signed.reason);
  const pol = await runCli(['policy', 'status'], { cwd: fx.dir, env: fx.env });
  assert.match(pol.stdout, /staging refreshed from production: 2 column\(s\) masked whole, 2 partial rule\(s\) \(public\.customers\.notes scrub, public\.customers\.prefs name at \$\.nick\); kept unmasked: public\.customers\.email/);
  const r = await refreshStaging(fx.ctx(), { yes: true });
  assert.ok(r.backupId);
  const rows = await sql<{ name: string; email: string }>(fx.stagingUrl, `SELECT name, email FROM customers ORDER BY id LIMIT 1`);
  assert.equal(rows[0].email, 'real1@cust.com', 'the signed keep is honoured');
  assert.match(rows[0].name, /^Person [0-9A-F]{8}$/, 'the rest is still masked');
  // Back to everything masked: masking more than version 2 signs needs no signature.
  await useRules(SIGNED_RULES);
  const more = await maskingCheck();
  assert.equal(more.state, 'ok', more.reason);
  assert.match(more.reason, /masks more than it \(.*masked whole, not in the policy: public\.customers\.email/);
  await refreshStaging(fx.ctx(), { yes: true });
  assert.match((await sql<{ email: string }>(fx.stagingUrl, `SELECT email FROM customers ORDER BY id LIMIT 1`))[0].email, /@example\.invalid$/);
  await sql(fx.stagingUrl, `CREATE TABLE IF NOT EXISTS old_marker (v text); DELETE FROM old_marker; INSERT INTO old_marker VALUES ('old staging')`);
});

test("a policy the store holds but production is not pinned to signs no keep (a self-signed store's policy)", async () => {
  await setup();
  await useRules([...SIGNED_RULES.filter((r) => r.column !== 'email'), { table: 'customers', column: 'email', strategy: 'keep', reason: 'support needs real addresses' }]);
  const chain = await readPolicyChain(fx.ctx());
  assert.ok(chain.ok && chain.inForce);
  // Production remembers a policy this store's chain does not contain (as after a deploy under the team's store).
  await pinPolicyInProduction(fx.prodUrl, { version: chain.inForce.policy.version, hash: 'f'.repeat(64) });
  try {
    await assert.rejects(refreshStaging(fx.ctx(), { yes: true }), (e: Error) => {
      assert.ok(e instanceof RefusedError && e.code === 'staging.masking-unsigned', e.message);
      assert.match(e.message, /the state store's policy is not the one production is pinned to/);
      return true;
    });
    await stagingUntouched();
  } finally {
    await sql(fx.prodUrl, `DROP TABLE prodguard.policy_pin`);
    await useRules(SIGNED_RULES);
  }
});

test('upgrade: a policy in force signed before masking was pinned lets no column be kept; whole masking still refreshes; the seniors sign to allow keep', async () => {
  await setup();
  // The next version signed the way an older prodguard wrote it: without `masking`.
  const ctx = fx.ctx();
  const chain = await readPolicyChain(ctx);
  assert.ok(chain.ok && chain.inForce);
  const { masking: _m, ...old } = termsFromConfig(ctx.loaded.config, ctx.loaded.root);
  const doc: PolicyDocument = { ...old, version: chain.inForce.policy.version + 1, previous: chain.inForce.hash };
  await appendToChain(ctx, { policy: doc, signatures: (['alice', 'bob'] as const).map((n) => signPolicy(doc, n, loadPrivateKey(fx.keyFile(n)))) });
  const after1 = await readPolicyChain(ctx);
  assert.ok(after1.ok && after1.inForce?.hash === policyHash(doc) && after1.inForce.policy.masking === undefined);

  await useRules(ATTACK_RULES);
  await assert.rejects(refreshStaging(fx.ctx(), { yes: true }), /does not sign \(it predates signed masking: it lets no column be kept or partly masked\) — public\.customers\.email \(configured: keep; signed: nothing\)/);
  await stagingUntouched();
  // Partial rules are not signed by it either.
  await useRules(SIGNED_RULES);
  await assert.rejects(refreshStaging(fx.ctx(), { yes: true }), /public\.customers\.notes \(configured: scrub; signed: nothing\)/);
  // Whole masking needs no signature.
  await useRules(SIGNED_RULES.filter((r) => r.strategy !== 'scrub' && !('paths' in r)));
  await sql(fx.stagingUrl, `DROP TABLE IF EXISTS customers`);
  await assert.rejects(refreshStaging(fx.ctx(), { yes: true }), /personal data without a masking rule: public\.customers\.notes/, 'detection still runs');
  // The upgrade: propose the working tree's policy (it now carries masking), two seniors sign.
  await useRules(SIGNED_RULES);
  await seniorsSign();
  await refreshStaging(fx.ctx(), { yes: true });
  assert.deepEqual(await sql(fx.stagingUrl, `SELECT count(*)::int AS n FROM customers WHERE name LIKE 'Real Name%' OR notes LIKE '%@cust.com%'`), [{ n: 0 }]);
  await sql(fx.stagingUrl, `CREATE TABLE IF NOT EXISTS old_marker (v text); DELETE FROM old_marker; INSERT INTO old_marker VALUES ('old staging')`);
});

test('no policy in force: a keep rule is refused (nothing is signed); whole masking still refreshes', async () => {
  const fx2 = await migrateFixture(cluster(), 'mpno', { pinPolicy: false, mutateConfig: (raw) => (raw.staging.masking = ATTACK_RULES) });
  try {
    await sql(fx2.prodUrl, PROD_SQL);
    const b = await createBackup(fx2.ctx(), { env: 'production' });
    await verifyBackup(fx2.ctx(), b.manifest.id, { env: 'production' });
    await assert.rejects(refreshStaging(fx2.ctx(), { yes: true }), (e: Error) => {
      assert.ok(e instanceof RefusedError && e.code === 'staging.masking-unsigned', e.message);
      assert.match(e.message, /that no policy in force signs \(prodguard policy init pins one\) — public\.customers\.email \(configured: keep; signed: nothing\)/);
      return true;
    });
    assert.deepEqual(await sql(fx2.stagingUrl, `SELECT to_regclass('customers') AS t`), [{ t: null }], 'staging untouched');
    await fx2.updateConfig((raw) => (raw.staging.masking = SIGNED_RULES.filter((r) => r.strategy !== 'scrub' && !('paths' in r)).concat([{ table: 'customers', column: 'notes', strategy: 'text' }, { table: 'customers', column: 'prefs', strategy: 'null' }])));
    await refreshStaging(fx2.ctx(), { yes: true });
    assert.deepEqual(await sql(fx2.stagingUrl, `SELECT count(*)::int AS n FROM customers WHERE email LIKE '%@cust.com'`), [{ n: 0 }]);
  } finally {
    await fx2.cleanup();
  }
});
