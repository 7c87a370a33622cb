/**
 * Red team ap-078: production's backup destinations and age recipients are part of the signed
 * policy. A destination or recipient added in prodguard.yaml (working tree) receives nothing from
 * production — not from `backup create`, not from a deploy's pre-migration backup — until the
 * seniors of the policy in force sign it in (policy propose + policy sign).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { sharedCluster, sql } from '../helpers/pg.js';
import { runCli } from '../helpers/cli.js';
import { migrateFixture, type MigrateFixture } from '../migrate/fixture.js';
import { applyToStaging } from '../../src/migrate/staging-apply.js';
import { applyMigrations } from '../../src/migrate/apply.js';
import { readMigrations } from '../../src/migrate/files.js';
import { historyTarget } from '../../src/migrate/history.js';
import { requestChange } from '../../src/migrate/request.js';
import { approveChange } from '../../src/migrate/approve.js';
import { deploy } from '../../src/migrate/deploy.js';
import { createBackup, listBackups } from '../../src/backup/index.js';
import { generateKeyPair } from '../../src/backup/encryption.js';
import { proposePolicy, signPolicyProposal, policyStatus } from '../../src/policy/rotate.js';
import { policyInForce, POLICY_CHAIN, chainId, appendToChain } from '../../src/policy/chain.js';
import { signPolicy } from '../../src/policy/signatures.js';
import type { PolicyDocument } from '../../src/policy/document.js';
import { pinPolicyInProduction } from '../../src/policy/production-pin.js';
import { destinationIdentity, backupTermsDifference, backupTermsFromConfig } from '../../src/policy/backup-terms.js';
import { checks as trustChecks } from '../../src/status/checks/trust.js';
import type { SignedPolicy } from '../../src/policy/signatures.js';

const cluster = sharedCluster({ name: 'prodguard-test-policy-dest' });
let fx: MigrateFixture;

let ready: Promise<void> | undefined;
const setup = () =>
  (ready ??= (async () => {
    fx = await migrateFixture(cluster(), 'pdest');
    const ctx = fx.ctx();
    await applyToStaging(ctx, 'staging');
    await applyMigrations(ctx.loaded, fx.prodUrl, readMigrations(ctx.loaded).files, { actor: 'setup', changeHash: 'setup', history: historyTarget(ctx.loaded) });
    await sql(fx.prodUrl, `INSERT INTO items (name, price) VALUES ('secret-widget', 5)`);
  })());
after(async () => {
  await fx?.cleanup();
});

const exfil = () => join(fx.dir, 'dave-exfil');
const backupsDir = () => join(fx.dir, 'backups');
const backupFolders = () => (existsSync(join(backupsDir(), 'production')) ? readdirSync(join(backupsDir(), 'production')) : []);
const statusCheck = () => trustChecks.find((c) => c.id === 'policy.backup-destinations')!.run(fx.ctx());

async function withBackupConfig(mutate: (backup: Record<string, any>) => void, fn: () => Promise<void>): Promise<void> {
  await fx.updateConfig((raw) => mutate(raw.backup));
  try {
    await fn();
  } finally {
    await fx.updateConfig((raw) => {
      raw.backup = { encryption: { noEncrypt: true }, destinations: [{ name: 'local', type: 'local', path: join(fx.dir, 'backups') }] };
    });
  }
}

test('ap-078: the signed policy pins where backups go: a destination identified by type and normalized location, recipients by public key', async () => {
  await setup();
  const { inForce } = await policyInForce(fx.ctx());
  assert.deepEqual(inForce?.policy.backup, { destinations: [`local:${join(fx.dir, 'backups')}`], recipients: [], encrypted: false });
  assert.equal(destinationIdentity({ name: 'x', type: 'local', path: './a/../b/' }), 'local:b');
  assert.equal(
    destinationIdentity({ name: 'y', type: 's3', bucket: 'acme', prefix: 'prod//', endpoint: 'HTTPS://S3.Example.COM:443/', region: 'eu-west-1', forcePathStyle: true, accessKeyIdEnv: 'A', secretAccessKeyEnv: 'B' }),
    's3://acme/prod/ at https://s3.example.com (eu-west-1)',
  );
  // Renaming a destination changes nothing; moving it does.
  const same = backupTermsFromConfig({ ...fx.ctx().loaded.config, backup: { ...fx.ctx().loaded.config.backup, destinations: [{ name: 'renamed', type: 'local', path: join(fx.dir, 'backups') + '/' }] } });
  assert.equal(backupTermsDifference(inForce?.policy.backup, same), null);
  assert.equal((await statusCheck()).state, 'ok');
});

test('ap-078: a destination added in prodguard.yaml: backup create of production is refused, audited, and nothing is written anywhere', async () => {
  await setup();
  const before = backupFolders();
  await withBackupConfig(
    (b) => b.destinations.push({ name: 'mirror', type: 'local', path: exfil() }),
    async () => {
      await assert.rejects(createBackup(fx.ctx(), { env: 'production', reason: 'nightly' }), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'backup.destinations-unsigned');
        assert.match(e.message, /backup of production refused: prodguard\.yaml's backup destinations\/recipients are not the ones the policy in force \(version 1\) signs — destination\(s\) not in the policy: local:.*dave-exfil/);
        assert.doesNotMatch(e.message, /\n/);
        return true;
      });
      const r = await runCli(['backup', 'create', '--env', 'production'], { cwd: fx.dir, env: fx.env });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /policy in force \(version 1\) signs/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(existsSync(exfil()), false, 'the added destination received nothing');
      assert.deepEqual(backupFolders(), before, 'the signed destination got no new (partial) backup either');
      const audit = fx.ctx().auditLog.read().filter((a) => a.action === 'backup.create' && a.verdict === 'refused');
      assert.ok(audit.some((a) => /not in the policy: local:.*dave-exfil/.test(a.reason)), 'the refusal is audited');
      const st = await statusCheck();
      assert.equal(st.state, 'failing');
      assert.match(st.reason, /prodguard\.yaml differs from policy version 1: destination\(s\) not in the policy/);
    },
  );
});

test('ap-078: an age recipient added (or encryption switched off/on) in prodguard.yaml is refused for production', async () => {
  await setup();
  const { recipient } = await generateKeyPair();
  await withBackupConfig(
    (b) => (b.encryption = { recipients: [recipient] }),
    async () => {
      await assert.rejects(createBackup(fx.ctx(), { env: 'production' }), new RegExp(`the policy signs unencrypted backups; recipient\\(s\\) not in the policy: ${recipient}`));
    },
  );
  // The attacker's destination instead of the signed one, same name.
  await withBackupConfig(
    (b) => (b.destinations = [{ name: 'local', type: 'local', path: exfil() }]),
    async () => {
      await assert.rejects(createBackup(fx.ctx(), { env: 'production' }), /signed destination\(s\) not configured: local:.*\/backups/);
    },
  );
  assert.equal(existsSync(exfil()), false);
});

test('ap-078: production under another name or kind in prodguard.yaml is still recognised by its database and refused; staging is not', async () => {
  await setup();
  await fx.updateConfig((raw) => {
    raw.environments.prodcopy = { kind: 'local', urlEnv: 'PDEST_PROD_URL' };
    raw.backup.destinations.push({ name: 'mirror', type: 'local', path: exfil() });
  });
  try {
    await assert.rejects(createBackup(fx.ctx(), { env: 'prodcopy' }), /backup of prodcopy refused: .*not in the policy/);
    // Staging (not production) is backed up; its manifest says no policy authorised its destinations.
    const r = await createBackup(fx.ctx(), { env: 'staging' });
    assert.equal(r.manifest.destinationsAuthorisedBy, null);
    assert.ok(existsSync(exfil()), 'staging data may go to an unsigned destination');
    assert.equal(existsSync(join(exfil(), 'production')), false);
    assert.equal(existsSync(join(exfil(), 'prodcopy')), false);
  } finally {
    await fx.updateConfig((raw) => {
      delete raw.environments.prodcopy;
      raw.backup = { encryption: { noEncrypt: true }, destinations: [{ name: 'local', type: 'local', path: join(fx.dir, 'backups') }] };
    });
    rmSync(exfil(), { recursive: true, force: true });
  }
});

test("ap-078: a deploy's pre-migration backup does not go to an unsigned destination: the deploy is refused before anything is applied", async () => {
  await setup();
  fx.writeMigration('0002_add_sku.sql', 'ALTER TABLE items ADD COLUMN sku text;\n');
  await applyToStaging(fx.ctx(), 'staging');
  process.env.PRODGUARD_ACTOR = 'alice';
  try {
    const { change } = await requestChange(fx.ctx(), 'production', { keyFile: fx.keyFile('alice') });
    await approveChange(fx.ctx(), change.hash, { keyFile: fx.keyFile('bob') });
    await approveChange(fx.ctx(), change.hash, { keyFile: fx.keyFile('carol') });
  } finally {
    delete process.env.PRODGUARD_ACTOR;
  }
  const saved = { CI: process.env.CI, PRODGUARD_ACTOR: process.env.PRODGUARD_ACTOR, PRODGUARD_OIDC_TOKEN: process.env.PRODGUARD_OIDC_TOKEN };
  await withBackupConfig(
    (b) => b.destinations.push({ name: 'mirror', type: 'local', path: exfil() }),
    async () => {
      process.env.CI = 'true';
      process.env.PRODGUARD_ACTOR = 'ci';
      process.env.PRODGUARD_OIDC_TOKEN = await fx.ciToken();
      try {
        await assert.rejects(deploy(fx.ctx(), 'production', { verifyScratchUrl: cluster().url() }), /not the ones the policy in force \(version 1\) signs/);
      } finally {
        for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      assert.equal(existsSync(exfil()), false, "production's data did not reach the added destination");
      const cols = await sql<{ n: string }>(fx.prodUrl, `SELECT count(*)::text AS n FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'sku'`);
      assert.equal(cols[0].n, '0', 'nothing applied to production');
    },
  );
  fx.removeMigration('0002_add_sku.sql');
});

test('ap-078: destinations come in through the two-signature policy change; the manifest records the authorising policy version', async () => {
  await setup();
  const offsite = join(fx.dir, 'offsite');
  await fx.updateConfig((raw) => raw.backup.destinations.push({ name: 'offsite', type: 'local', path: offsite }));
  {
    assert.equal((await policyStatus(fx.ctx())).workingTree, 'proposed, not in force');
    await proposePolicy(fx.ctx());
    // One senior is not enough: still refused.
    assert.equal((await signPolicyProposal(fx.ctx(), { keyFile: fx.keyFile('bob') })).inForce, false);
    await assert.rejects(createBackup(fx.ctx(), { env: 'production' }), /not in the policy: local:.*offsite/);
    // A developer's signature does not count.
    await assert.rejects(signPolicyProposal(fx.ctx(), { keyFile: fx.keyFile('dave') }), /only seniors sign policy changes/);
    const signed = await signPolicyProposal(fx.ctx(), { keyFile: fx.keyFile('carol') });
    assert.equal(signed.inForce, true);
    const r = await createBackup(fx.ctx(), { env: 'production', reason: 'after the signed change' });
    assert.deepEqual(r.manifest.destinationsAuthorisedBy, { version: signed.version, hash: (await policyInForce(fx.ctx())).inForce!.hash });
    assert.ok(existsSync(join(offsite, 'production', r.id, 'manifest.json')));
    const onDisk = JSON.parse((await import('node:fs')).readFileSync(join(offsite, 'production', r.id, 'manifest.json'), 'utf8'));
    assert.equal(onDisk.destinationsAuthorisedBy.version, signed.version);
    assert.equal((await listBackups(fx.ctx(), { env: 'production' }))[0].destinationsAuthorisedBy?.version, signed.version);
    const st = await statusCheck();
    assert.equal(st.state, 'ok', st.reason);
    assert.match(st.reason, new RegExp(`2 destination\\(s\\), unencrypted, signed by policy version ${signed.version}`));
    const cli = await runCli(['policy', 'status'], { cwd: fx.dir, env: fx.env });
    assert.match(cli.stdout, /backups of production: local:.*backups, local:.*offsite; unencrypted/);
  }
});

test('ap-078: with the chain gone but production pinned to a policy, a backup of production is refused (a deleted chain does not switch the check off)', async () => {
  await setup();
  const store = await fx.ctx().store();
  const links = await store.list<SignedPolicy>(POLICY_CHAIN);
  const { inForce } = await policyInForce(fx.ctx());
  await pinPolicyInProduction(fx.prodUrl, { version: inForce!.policy.version, hash: inForce!.hash });
  for (const l of links) await store.delete(POLICY_CHAIN, l.id);
  try {
    assert.equal((await policyInForce(fx.ctx())).inForce, null);
    await assert.rejects(createBackup(fx.ctx(), { env: 'production' }), /the database was deployed under policy version \d+, but this state store has no policy in force/);
    // Staging carries no pin: a policy-less backup of it is taken and recorded as unsigned.
    const r = await createBackup(fx.ctx(), { env: 'staging' });
    assert.equal(r.manifest.destinationsAuthorisedBy, null);
    const st = await statusCheck();
    assert.equal(st.state, 'missing');
    assert.match(st.reason, /^unsigned: /);
  } finally {
    for (const l of links) await store.put(POLICY_CHAIN, chainId(l.doc.policy.version), l.doc);
    await sql(fx.prodUrl, 'DROP TABLE IF EXISTS prodguard.policy_pin');
  }
  assert.ok((await policyInForce(fx.ctx())).inForce);
});

test('ap-078: a policy signed before destinations were pinned authorises none: production backups are refused until the seniors sign them in', async () => {
  await setup();
  const { inForce } = await policyInForce(fx.ctx());
  const { backup: _b, ...rest } = inForce!.policy;
  const old: PolicyDocument = { ...rest, version: inForce!.policy.version + 1, previous: inForce!.hash };
  const { loadPrivateKey } = await import('../../src/migrate/keys.js');
  await appendToChain(fx.ctx(), { policy: old, signatures: [signPolicy(old, 'bob', loadPrivateKey(fx.keyFile('bob'))), signPolicy(old, 'carol', loadPrivateKey(fx.keyFile('carol')))] });
  assert.equal((await policyInForce(fx.ctx())).inForce?.policy.version, old.version);
  await assert.rejects(createBackup(fx.ctx(), { env: 'production' }), /the policy in force signs no backup destinations or recipients yet/);
  assert.equal((await statusCheck()).state, 'failing');
  // The ordinary two-signature change puts them in.
  await proposePolicy(fx.ctx());
  await signPolicyProposal(fx.ctx(), { keyFile: fx.keyFile('alice') });
  assert.equal((await signPolicyProposal(fx.ctx(), { keyFile: fx.keyFile('bob') })).inForce, true);
  const r = await createBackup(fx.ctx(), { env: 'production' });
  assert.equal(r.manifest.destinationsAuthorisedBy?.version, old.version + 1);
});

test("w5c-020, w5c-086, w5c-021: --config naming a self-signed SQLite store (or another database) whose policy signs dave's destination: production's pin refuses the backup before anything is written; status is not green", async () => {
  await setup();
  const { inForce } = await policyInForce(fx.ctx());
  await pinPolicyInProduction(fx.prodUrl, { version: inForce!.policy.version, hash: inForce!.hash });
  const { openContext } = await import('../../src/context.js');
  const { initPolicy } = await import('../../src/policy/rotate.js');
  const { stringify, parse } = await import('yaml');
  const { readFileSync, writeFileSync } = await import('node:fs');
  const raw = parse(readFileSync(join(fx.dir, 'prodguard.yaml'), 'utf8')) as Record<string, any>;
  raw.state = { store: 'sqlite', path: '.prodguard/dave-state.db' };
  raw.team = raw.team.map((m: { name: string; role: string }) => (m.name === 'dave' ? { ...m, role: 'senior' } : m));
  raw.backup = { encryption: { noEncrypt: true }, destinations: [{ name: 'local', type: 'local', path: exfil() }] };
  const daveYaml = join(fx.dir, 'dave.yaml');
  writeFileSync(daveYaml, stringify(raw));
  const dave = openContext({ cwd: fx.dir, configFile: daveYaml });
  try {
    await initPolicy(dave, { keyFile: fx.keyFile('dave') });
    const daves = (await policyInForce(dave)).inForce!;
    assert.ok(daves, "dave's store has a policy in force signing his destination");
    await assert.rejects(createBackup(dave, { env: 'production', reason: 'nightly' }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'backup.destinations-unsigned');
      assert.match(e.message, new RegExp(`backup of production refused: production is pinned to policy version ${inForce!.policy.version} \\(${inForce!.hash.slice(0, 12)}\\) but the state store's policy in force is version ${daves.policy.version} \\(${daves.hash.slice(0, 12)}\\)`));
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
    const r = await runCli(['--config', daveYaml, 'backup', 'create', '--env', 'production'], { cwd: fx.dir, env: fx.env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /production is pinned to policy version/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(existsSync(exfil()), false, "dave's destination received nothing");
    // w5c-021: break-glass checks the pin before its backup, so its backup does not reach dave either.
    const { openBreakGlass } = await import('../../src/emergency/break-glass.js');
    const { loadPrivateKey } = await import('../../src/migrate/keys.js');
    await assert.rejects(
      openBreakGlass(dave, { env: 'production', reason: 'x', durationMs: 600_000, key: loadPrivateKey(fx.keyFile('dave')) }),
      /break-glass refused: the policy (in force|chain) in the state store .*the policy production last deployed under/,
    );
    assert.equal(existsSync(exfil()), false, "break-glass's backup did not reach dave's destination");
    const st = await trustChecks.find((c) => c.id === 'policy.backup-destinations')!.run(dave);
    assert.equal(st.state, 'failing', st.reason);
    assert.match(st.reason, /production: production is pinned to policy version/);
    // Staging carries no pin: dave's store may still take staging's backup (recorded as unsigned by the team).
    // The team's own store and policy still back production up.
    const ok = await createBackup(fx.ctx(), { env: 'production' });
    assert.equal(ok.manifest.destinationsAuthorisedBy?.hash, inForce!.hash);
    assert.equal((await statusCheck()).state, 'ok');
  } finally {
    await dave.close();
    await sql(fx.prodUrl, 'DROP TABLE IF EXISTS prodguard.policy_pin');
    rmSync(exfil(), { recursive: true, force: true });
  }
});

test('w5c-023, w5c-024, w5c-035: a relative local destination is pinned by its canonical absolute path: the same yaml from another directory (--config copy) is refused, the same place written relatively is not', async () => {
  await setup();
  const { stringify, parse } = await import('yaml');
  const { mkdirSync, readFileSync, writeFileSync } = await import('node:fs');
  const { openContext } = await import('../../src/context.js');
  // The signed destinations, the main one (an absolute path) written relative to prodguard.yaml's directory: the same place.
  const signed = (await policyInForce(fx.ctx())).inForce!.policy.backup!.destinations;
  const relativeDests = signed.map((id, i) => ({ name: `d${i}`, type: 'local', path: id === `local:${backupsDir()}` ? 'backups' : id.slice('local:'.length) }));
  assert.ok(relativeDests.some((d) => d.path === 'backups'));
  await withBackupConfig(
    (b) => (b.destinations = relativeDests),
    async () => {
      const r = await createBackup(fx.ctx(), { env: 'production' });
      assert.ok(r.manifest.destinationsAuthorisedBy, 'the same place, written relatively, is the signed destination');
    },
  );
  // The same relative yaml copied into a subdirectory (its own directory decides): another place.
  const raw = parse(readFileSync(join(fx.dir, 'prodguard.yaml'), 'utf8')) as Record<string, any>;
  raw.state = { store: 'sqlite', path: join(fx.dir, '.prodguard/state.db') };
  raw.backup.destinations = relativeDests;
  const sub = join(fx.dir, 'dave-sub');
  mkdirSync(sub, { recursive: true });
  writeFileSync(join(sub, 'prodguard.yaml'), stringify(raw));
  const c = openContext({ cwd: fx.dir, configFile: join(sub, 'prodguard.yaml') });
  try {
    await assert.rejects(createBackup(c, { env: 'production' }), new RegExp(`destination\\(s\\) not in the policy: local:${sub}/backups`));
    assert.equal(existsSync(join(sub, 'backups')), false, 'nothing was written to the subdirectory');
  } finally {
    await c.close();
  }
});

test('w5c-025, w5c-085, w5c-026: a committed symlink in a signed local path moves nothing: the resolved place is compared, the backup refused, nothing written', async () => {
  await setup();
  const { symlinkSync, mkdirSync } = await import('node:fs');
  const offsite2 = join(fx.dir, 'backups2');
  const signed = (await policyInForce(fx.ctx())).inForce!.policy.backup!.destinations;
  await fx.updateConfig((raw) => (raw.backup.destinations = [...signed.map((id, i) => ({ name: `d${i}`, type: 'local', path: id.slice('local:'.length) })), { name: 'second', type: 'local', path: 'backups2' }]));
  await proposePolicy(fx.ctx());
  await signPolicyProposal(fx.ctx(), { keyFile: fx.keyFile('bob') });
  assert.equal((await signPolicyProposal(fx.ctx(), { keyFile: fx.keyFile('carol') })).inForce, true);
  const { inForce } = await policyInForce(fx.ctx());
  assert.ok(inForce!.policy.backup!.destinations.includes(`local:${offsite2}`), 'the relative path is signed as an absolute one');
  // dave commits backups2 -> his own directory.
  mkdirSync(exfil(), { recursive: true });
  symlinkSync(exfil(), offsite2);
  try {
    await assert.rejects(createBackup(fx.ctx(), { env: 'production' }), (e: Error) => {
      assert.match(e.message, new RegExp(`destination\\(s\\) not in the policy: local:${exfil()}`));
      assert.match(e.message, new RegExp(`signed destination\\(s\\) not configured: local:${offsite2}`));
      return true;
    });
    assert.deepEqual(readdirSync(exfil()), [], "nothing reached the symlink's target");
    assert.equal((await statusCheck()).state, 'failing');
  } finally {
    rmSync(offsite2, { force: true });
    rmSync(exfil(), { recursive: true, force: true });
  }
  // The real directory in its place: backed up again.
  mkdirSync(offsite2, { recursive: true });
  const r = await createBackup(fx.ctx(), { env: 'production' });
  assert.equal(r.manifest.destinationsAuthorisedBy?.version, inForce!.policy.version);
});

test('w5c-023 (upgrade): a policy that signed a relative local path as written authorises nothing and says to re-sign', async () => {
  await setup();
  const { inForce } = await policyInForce(fx.ctx());
  const old: PolicyDocument = {
    ...inForce!.policy,
    version: inForce!.policy.version + 1,
    previous: inForce!.hash,
    backup: { ...inForce!.policy.backup!, destinations: inForce!.policy.backup!.destinations.map((d) => (d === `local:${join(fx.dir, 'backups')}` ? 'local:backups' : d)) },
  };
  const { loadPrivateKey } = await import('../../src/migrate/keys.js');
  await appendToChain(fx.ctx(), { policy: old, signatures: [signPolicy(old, 'bob', loadPrivateKey(fx.keyFile('bob'))), signPolicy(old, 'carol', loadPrivateKey(fx.keyFile('carol')))] });
  await withBackupConfig(
    (b) => (b.destinations = inForce!.policy.backup!.destinations.map((id, i) => ({ name: `d${i}`, type: 'local', path: id.slice('local:'.length) }))),
    async () => {
      await assert.rejects(createBackup(fx.ctx(), { env: 'production' }), /the policy signs relative local path\(s\) \(local:backups\) .*re-sign them \(prodguard policy propose \+ policy sign\)/);
    },
  );
});
