/**
 * Deploys under concurrency and with a degraded backup (issue #11): one migration run at a time per
 * environment, and no deploy on a backup that is missing on a destination unless a reason is given.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sharedCluster, sql } from '../helpers/pg.js';
import { runCli } from '../helpers/cli.js';
import { asCi, migrateFixture, type MigrateFixture } from './fixture.js';
import { applyToStaging } from '../../src/migrate/staging-apply.js';
import { applyMigrations } from '../../src/migrate/apply.js';
import { readMigrations } from '../../src/migrate/files.js';
import { historyTarget } from '../../src/migrate/history.js';
import { requestChange } from '../../src/migrate/request.js';
import { approveChange } from '../../src/migrate/approve.js';
import { deploy, type DeployResult } from '../../src/migrate/deploy.js';
import { migrationLockKey } from '../../src/migrate/deploy-lock.js';
import { connect } from '../../src/pg/client.js';
import { proposePolicy, signPolicyProposal } from '../../src/policy/rotate.js';

const cluster = sharedCluster({ name: 'prodguard-test-deploy-safety' });
let fx: MigrateFixture;
let ready: Promise<void> | undefined;
const setup = () =>
  (ready ??= (async () => {
    fx = await migrateFixture(cluster(), 'dsafe');
    const ctx = fx.ctx();
    await applyToStaging(ctx, 'staging');
    await applyMigrations(ctx.loaded, fx.prodUrl, readMigrations(ctx.loaded).files, { actor: 'setup', changeHash: 'setup', history: historyTarget(ctx.loaded) });
  })());

after(async () => {
  await fx?.cleanup();
});

/** Backup destinations are part of the signed policy (ap-078): bob and carol sign the working tree's. */
async function signDestinations(): Promise<void> {
  await proposePolicy(fx.ctx());
  await signPolicyProposal(fx.ctx(), { keyFile: fx.keyFile('bob') });
  assert.equal((await signPolicyProposal(fx.ctx(), { keyFile: fx.keyFile('carol') })).inForce, true);
}

async function stageAndApprove(): Promise<void> {
  await applyToStaging(fx.ctx(), 'staging');
  process.env.PRODGUARD_ACTOR = 'alice';
  try {
    const { change } = await requestChange(fx.ctx(), 'production', { keyFile: fx.keyFile('alice') });
    await approveChange(fx.ctx(), change.hash, { keyFile: fx.keyFile('bob') });
    await approveChange(fx.ctx(), change.hash, { keyFile: fx.keyFile('carol') });
  } finally {
    delete process.env.PRODGUARD_ACTOR;
  }
}


const history = async () => (await sql<{ version: string }>(fx.prodUrl, 'SELECT version FROM prodguard.schema_migrations ORDER BY version')).map((h) => h.version);

test('two concurrent deploys apply a no-transaction file once: the second waits, says so, then finds nothing pending', async () => {
  await setup();
  fx.writeMigration('0002_seed.sql', "-- prodguard: no-transaction\n-- prodguard-ignore ban-data-change-in-schema-migration: reference row\n-- prodguard-ignore no-transaction-without-need: a file applied outside a transaction is what this test deploys twice at once\nINSERT INTO items (name, price) VALUES ('only-once', 1);\n");
  await stageAndApprove();
  const phases: string[][] = [[], []];
  const results = await asCi(fx, () =>
    Promise.allSettled([0, 1].map((i) => deploy(fx.ctx(), 'production', { verifyScratchUrl: cluster().url(), onPhase: (p) => phases[i].push(p) }))),
  );
  const ok = results.filter((r): r is PromiseFulfilledResult<DeployResult> => r.status === 'fulfilled').map((r) => r.value);
  assert.equal(ok.length, 2, results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')).join('\n'));
  assert.deepEqual(ok.map((r) => r.applied.map((a) => a.file)).sort(), [[], ['0002_seed.sql']]);
  const rows = await sql<{ n: number }>(fx.prodUrl, `SELECT count(*)::int AS n FROM items WHERE name = 'only-once'`);
  assert.equal(rows[0].n, 1, 'the no-transaction file ran once');
  assert.deepEqual(await history(), ['0001', '0002']);
  assert.ok(phases.flat().some((p) => /waiting for another migration run on production to finish \(pid \d+ \(prodguard migrate lock production by ci/.test(p)), phases.flat().join('\n'));
});

test('with --no-wait a deploy is refused at once while another run holds the lock; migrate apply waits or refuses the same way', async () => {
  await setup();
  const holder = await connect(fx.prodUrl, { applicationName: 'someone else deploying' });
  const stagingHolder = await connect(fx.stagingUrl, { applicationName: 'someone else applying' });
  try {
    await holder.query('SELECT pg_advisory_lock($1::bigint)', [migrationLockKey()]);
    await stagingHolder.query('SELECT pg_advisory_lock($1::bigint)', [migrationLockKey()]);
    await assert.rejects(
      asCi(fx, () => deploy(fx.ctx(), 'production', { noWait: true })),
      /another migration run on production holds the migration lock \(pid \d+ \(someone else deploying.*refusing \(--no-wait\)/,
    );
    const r = await runCli(['migrate', 'apply', '--env', 'staging', '--no-wait'], { cwd: fx.dir, env: fx.env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /another migration run on staging holds the migration lock .*someone else applying/);
  } finally {
    await holder.end();
    await stagingHolder.end();
  }
});

test('a degraded pre-migration backup is refused; --allow-degraded-backup needs a reason and is audited', async () => {
  await setup();
  await fx.updateConfig((raw) => {
    // A destination that cannot be written: its path runs through a regular file.
    raw.backup.destinations.push({ name: 'offsite', type: 'local', path: join(fx.dir, 'prodguard.yaml', 'backups') });
  });
  await signDestinations();
  try {
    fx.writeMigration('0003_note.sql', 'ALTER TABLE items ADD COLUMN note text;\n');
    await stageAndApprove();
    await assert.rejects(asCi(fx, () => deploy(fx.ctx(), 'production', { verifyScratchUrl: cluster().url() })), (e: Error) => {
      assert.match(e.message, /refused: backup \S+ is degraded, it is not on every configured destination \(offsite: .*--allow-degraded-backup --reason/);
      assert.match(e.message, /nothing was applied/);
      return true;
    });
    assert.deepEqual(await history(), ['0001', '0002']);
    await assert.rejects(asCi(fx, () => deploy(fx.ctx(), 'production', { allowDegradedBackup: true })), /--allow-degraded-backup needs --reason/);
    const r = await asCi(fx, () =>
      deploy(fx.ctx(), 'production', { verifyScratchUrl: cluster().url(), allowDegradedBackup: true, degradedReason: 'offsite bucket down, incident INC-42' }),
    );
    assert.deepEqual(r.applied.map((a) => a.file), ['0003_note.sql']);
    assert.deepEqual(await history(), ['0001', '0002', '0003']);
    const audit = fx.ctx().auditLog.read().filter((a) => a.action === 'migrate.degraded-backup-accepted');
    assert.equal(audit.length, 1);
    assert.match(audit[0].reason, /degraded pre-migration backup .*offsite.*: offsite bucket down, incident INC-42/);
  } finally {
    await fx.updateConfig((raw) => {
      raw.backup.destinations.pop();
    });
    await signDestinations();
  }
});

test('a run whose lock connection was cut while it worked applies nothing', async () => {
  await setup();
  const { acquireMigrationLock } = await import('../../src/migrate/deploy-lock.js');
  const lock = await acquireMigrationLock(fx.stagingUrl, { env: 'staging', actor: 'test' });
  try {
    await lock.ensureHeld();
    await sql(fx.stagingUrl, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'prodguard migrate lock staging%'`);
    await assert.rejects(lock.ensureHeld(), /lost the migration lock on staging \(its connection ended\); nothing was applied/);
  } finally {
    await lock.release();
  }
});
