/**
 * Red team w5c-043 / w5c-087: PITR (base backups, WAL) and a shadow's PITR carry production's data
 * to the PITR store and every backup destination, encrypted to the configured recipients — so the
 * signed policy's destination/recipient terms govern them as they govern `backup create`
 * (test/policy/backup-destinations.test.ts). A destination added in prodguard.yaml is refused for
 * production and for its shadow, before anything is written or changed; staging stays unsigned.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sharedCluster, sql } from '../helpers/pg.js';
import { runCli } from '../helpers/cli.js';
import { migrateFixture, type MigrateFixture } from '../migrate/fixture.js';
import { createBaseBackup } from '../../src/restore/pitr/base-backup.js';
import { enablePitr } from '../../src/restore/pitr/enable.js';
import { authorisePitrDestinations, holdsShadowCopy } from '../../src/restore/pitr/authorise.js';
import { enableShadow } from '../../src/shadow/enable.js';
import { policyInForce } from '../../src/policy/chain.js';

const cluster = sharedCluster({ name: 'prodguard-test-pitr-dest' });
let fx: MigrateFixture;
let ready: Promise<void> | undefined;
const setup = () =>
  (ready ??= (async () => {
    fx = await migrateFixture(cluster(), 'pitrdest');
  })());
after(async () => {
  await fx?.cleanup();
});

const exfil = () => join(fx.dir, 'dave-exfil');
const walDir = () => join(fx.dir, '.prodguard', 'wal');

/** prodguard.yaml with dave's destination added for the duration of fn (restored after). */
async function withDaveDestination(fn: () => Promise<void>): Promise<void> {
  let saved: unknown;
  await fx.updateConfig((raw) => {
    saved = structuredClone(raw.backup);
    raw.backup.destinations.push({ name: 'mirror', type: 'local', path: exfil() });
  });
  try {
    await fn();
  } finally {
    await fx.updateConfig((raw) => {
      raw.backup = saved;
    });
  }
}

const refusedUnsigned = (what: RegExp) => (e: Error & { code?: string }) => {
  assert.equal(e.code, 'backup.destinations-unsigned');
  assert.match(e.message, what);
  assert.match(e.message, /not in the policy: local:.*dave-exfil/);
  assert.doesNotMatch(e.message, /\n/);
  return true;
};

test('w5c-043: pitr base-backup and pitr enable of production with an unsigned destination are refused, audited, and change nothing', async () => {
  await setup();
  const { inForce } = await policyInForce(fx.ctx());
  assert.ok(inForce, 'the fixture runs under a signed policy');
  const archiveBefore = (await sql(fx.prodUrl, `SELECT current_setting('archive_command') AS a`))[0].a;
  await withDaveDestination(async () => {
    await assert.rejects(createBaseBackup(fx.ctx(), 'production', fx.env), refusedUnsigned(/^PITR of production refused: prodguard\.yaml's backup destinations\/recipients are not the ones the policy in force/));
    await assert.rejects(enablePitr(fx.ctx(), 'production', fx.env), refusedUnsigned(/^PITR of production refused/));
    const r = await runCli(['pitr', 'base-backup', '--env', 'production'], { cwd: fx.dir, env: fx.env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /PITR of production refused/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
  assert.equal(existsSync(exfil()), false, 'the added destination received nothing');
  assert.equal(existsSync(join(walDir(), 'production')), false, 'no PITR store was opened');
  assert.equal((await sql(fx.prodUrl, `SELECT current_setting('archive_command') AS a`))[0].a, archiveBefore, 'archive_command unchanged');
  const refused = fx.ctx().auditLog.read().filter((a) => a.verdict === 'refused' && (a.action === 'pitr.base-backup' || a.action === 'pitr.enable'));
  assert.ok(refused.some((a) => a.action === 'pitr.base-backup' && /dave-exfil/.test(a.reason)), 'the base-backup refusal is audited');
  assert.ok(refused.some((a) => a.action === 'pitr.enable'), 'the enable refusal is audited');
});

test('w5c-043: with the signed destinations, PITR of production is authorised by the policy in force', async () => {
  await setup();
  const { inForce } = await policyInForce(fx.ctx());
  const auth = await authorisePitrDestinations(fx.ctx(), 'production', fx.prodUrl);
  assert.deepEqual(auth, { version: inForce!.policy.version, hash: inForce!.hash });
});

test('w5c-087: shadow enable with an unsigned destination is refused before anything is created on production or the shadow', async () => {
  await setup();
  await withDaveDestination(async () => {
    await assert.rejects(enableShadow(fx.ctx(), { environment: 'production', shadowEnv: 'staging', env: fx.env }), refusedUnsigned(/^PITR of staging refused/));
  });
  assert.equal((await sql(fx.prodUrl, `SELECT count(*)::int AS n FROM pg_publication WHERE pubname = 'prodguard_shadow'`))[0].n, 0, 'no publication on production');
  assert.equal((await sql(fx.stagingUrl, `SELECT count(*)::int AS n FROM pg_subscription`))[0].n, 0, 'no subscription on the shadow');
  assert.equal(existsSync(exfil()), false);
});

test("w5c-087: an environment whose database holds prodguard's shadow subscription is judged as production, whatever prodguard.yaml calls it; plain staging is not", async () => {
  await setup();
  await withDaveDestination(async () => {
    // staging without a shadow subscription: unsigned, allowed (as its backups are).
    assert.equal(await holdsShadowCopy(fx.stagingUrl), false);
    assert.equal(await authorisePitrDestinations(fx.ctx(), 'staging', fx.stagingUrl), null);
    // The database's own fact: a prodguard shadow subscription (created without connecting).
    await sql(fx.stagingUrl, `CREATE SUBSCRIPTION prodguard_shadow_production CONNECTION 'host=127.0.0.1 dbname=none' PUBLICATION prodguard_shadow WITH (connect = false, enabled = false, create_slot = false, slot_name = NONE)`);
    try {
      assert.equal(await holdsShadowCopy(fx.stagingUrl), true);
      await assert.rejects(authorisePitrDestinations(fx.ctx(), 'staging', fx.stagingUrl), refusedUnsigned(/^PITR of staging refused/));
      await assert.rejects(createBaseBackup(fx.ctx(), 'staging', fx.env), refusedUnsigned(/^PITR of staging refused/));
    } finally {
      await sql(fx.stagingUrl, `DROP SUBSCRIPTION prodguard_shadow_production`);
    }
  });
  assert.equal(existsSync(exfil()), false);
});
