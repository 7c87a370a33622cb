import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { sharedCluster, sql, createDatabase } from '../helpers/pg.js';
import { runCli } from '../helpers/cli.js';
import { migrateFixture, type MigrateFixture } from '../migrate/fixture.js';
import { applyToStaging } from '../../src/migrate/staging-apply.js';
import { applyMigrations } from '../../src/migrate/apply.js';
import { readMigrations } from '../../src/migrate/files.js';
import { historyTarget } from '../../src/migrate/history.js';
import { envState } from '../../src/migrate/change.js';
import { evaluateGate } from '../../src/migrate/gate.js';
import { STAGING_PASSES } from '../../src/migrate/records.js';
import { parseConnInfo } from '../../src/pg/conninfo.js';

const cluster = sharedCluster({ name: 'prodguard-test-evidence' });
let fx: MigrateFixture;

let ready: Promise<void> | undefined;
const setup = () =>
  (ready ??= (async () => {
    fx = await migrateFixture(cluster(), 'ev');
    const ctx = fx.ctx();
    await applyToStaging(ctx, 'staging');
    await applyMigrations(ctx.loaded, fx.prodUrl, readMigrations(ctx.loaded).files, { actor: 'setup', changeHash: 'setup', history: historyTarget(ctx.loaded) });
    fx.writeMigration('0002_add_sku.sql', 'ALTER TABLE items ADD COLUMN sku text;\n');
  })());
after(async () => {
  await fx?.cleanup();
});

const prodVersions = async () => (await sql<{ version: string }>(fx.prodUrl, 'SELECT version FROM prodguard.schema_migrations ORDER BY version')).map((r) => r.version);
const gate = async () => evaluateGate(fx.ctx(), await envState(fx.ctx().loaded, 'production'));
const check = (g: Awaited<ReturnType<typeof gate>>, name: string) => g.checks.find((c) => c.name === name)!;

/** The production database under another spelling of its host. */
function respell(url: string, host: string): string {
  const c = parseConnInfo(url)!;
  return `postgresql://${c.user}@${host}:${c.port}/${c.database}`;
}

test('attack: production reached through another spelling (IPv6-mapped IPv4, localhost) is refused as staging; nothing is applied; the refusal is audited', async () => {
  await setup();
  const key = Object.keys(fx.env).find((k) => k.endsWith('_STAGING_URL'))!;
  for (const host of ['[::ffff:127.0.0.1]', 'localhost']) {
    const r = await runCli(['migrate', 'apply', '--env', 'staging'], { cwd: fx.dir, env: { ...fx.env, [key]: respell(fx.prodUrl, host) } });
    assert.equal(r.code, 1, `${host}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /production/);
    assert.deepEqual(await prodVersions(), ['0001'], `${host}: production must be untouched`);
  }
  // Whatever the string checks catch, the database's own identity is the wall: judged directly.
  const { checkReachedEnvironment } = await import('../../src/policy/environment-identity.js');
  await assert.rejects(
    checkReachedEnvironment(fx.ctx(), 'staging', respell(fx.prodUrl, '[::ffff:127.0.0.1]'), 'test', 'migrate.apply'),
    /the database reached as "staging" is the enrolled production environment "production" \(its identity row\); refusing/,
  );
  await fx.updateConfig(() => {});
  assert.ok(fx.ctx().auditLog.read().some((a) => a.action === 'migrate.apply' && a.verdict === 'refused' && /enrolled production environment/.test(a.reason)));
});

test('attack: a staging pass forged in the local store, or earned on a scratch database declared kind: staging, does not pass the gate', async () => {
  await setup();
  const s = await envState(fx.ctx().loaded, 'production');
  const store = await fx.ctx().store();
  await store.put(STAGING_PASSES, `staging:${s.change.hash}`, { environment: 'staging', changeHash: s.change.hash, migrations: s.change.migrations, actor: 'dave', at: new Date().toISOString(), schemaFingerprint: 'forged' });
  let g = await gate();
  assert.equal(check(g, 'staging').ok, false);
  assert.match(check(g, 'staging').detail, /never passed on staging with this content: 0002_add_sku\.sql/);
  // A scratch database as a temporary staging environment in the branch.
  const scratch = await createDatabase(cluster(), 'ev_scratch');
  process.env.EV_SCRATCH_URL = scratch;
  await fx.updateConfig((raw) => {
    raw.environments.scratch = { kind: 'staging', urlEnv: 'EV_SCRATCH_URL' };
  });
  try {
    await applyMigrations(fx.ctx().loaded, scratch, readMigrations(fx.ctx().loaded).files, { actor: 'dave', changeHash: 'x', history: historyTarget(fx.ctx().loaded) });
    g = await gate();
    assert.equal(check(g, 'staging').ok, false, 'an unenrolled database earns nothing');
    // Pointing the enrolled staging's URL at the scratch database does not help either.
    const key = Object.keys(fx.env).find((k) => k.endsWith('_STAGING_URL'))!;
    process.env[key] = scratch;
    g = await gate();
    assert.equal(check(g, 'staging').ok, false);
    assert.match(check(g, 'staging').detail, /staging: the database reached is not the enrolled staging \(no identity row, database ev_scratch instead of ev_staging\)/);
    process.env[key] = fx.stagingUrl;
  } finally {
    await fx.updateConfig((raw) => {
      delete raw.environments.scratch;
    });
  }
  // The real pass: applied on the enrolled staging database, read from its own history.
  await applyToStaging(fx.ctx(), 'staging');
  g = await gate();
  assert.equal(check(g, 'staging').ok, true, check(g, 'staging').detail);
  assert.match(check(g, 'staging').detail, /in the migration history of enrolled staging staging with the same content/);
  // Edited after it passed: the content no longer matches staging's history.
  fx.writeMigration('0002_add_sku.sql', 'ALTER TABLE items ADD COLUMN sku text; -- edited\n');
  g = await gate();
  assert.equal(check(g, 'staging').ok, false);
  fx.writeMigration('0002_add_sku.sql', 'ALTER TABLE items ADD COLUMN sku text;\n');
});

test('the gate refuses a production URL that reaches another database than the enrolled production', async () => {
  await setup();
  assert.equal(check(await gate(), 'identity').ok, true);
  const key = Object.keys(fx.env).find((k) => k.endsWith('_PROD_URL'))!;
  const other = await createDatabase(cluster(), 'ev_fake_prod');
  await sql(other, readMigrations(fx.ctx().loaded).files[0].sql);
  process.env[key] = other;
  try {
    const c = check(await gate(), 'identity');
    assert.equal(c.ok, false);
    assert.match(c.detail, /the database reached as "production" is not the one the policy in force pins for it: no identity row, database ev_fake_prod instead of ev_prod/);
  } finally {
    process.env[key] = fx.prodUrl;
  }
});

test('env enroll writes an identity row and proposes it; enrolling production\'s database as another environment is refused', async () => {
  await setup();
  const rows = await sql<{ id: string; environment: string; kind: string }>(fx.prodUrl, 'SELECT id, environment, kind FROM prodguard.environment_identity');
  assert.equal(rows.length, 1);
  assert.equal(rows[0].kind, 'production');
  assert.match(rows[0].id, /^[0-9a-f]{32}$/);
  const pinned = fx.ctx().loaded.config.policy.environments.production;
  assert.equal(pinned.envId, rows[0].id);
  assert.equal(pinned.database, 'ev_prod');
  assert.match(pinned.systemIdentifier, /^\d+$/);
  const key = Object.keys(fx.env).find((k) => k.endsWith('_STAGING_URL'))!;
  const r = await runCli(['env', 'enroll', '--env', 'staging'], { cwd: fx.dir, env: { ...fx.env, [key]: fx.prodUrl } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /this database is already enrolled as "production" \(production\)/);
  const again = await runCli(['env', 'enroll', '--env', 'staging', '--json'], { cwd: fx.dir, env: fx.env });
  assert.equal(again.code, 0, again.stderr);
  const j = JSON.parse(again.stdout);
  assert.equal(j.reused, true);
  assert.equal(j.envId, fx.ctx().loaded.config.policy.environments.staging.envId);
  await fx.updateConfig(() => {});
});
