/**
 * Red team ap-029/ap-064: migrations.healthChecks live in the unsigned prodguard.yaml and run on
 * production with the deployer's rights. `select 1; commit; drop table canary; select 1` ended
 * the READ ONLY transaction and dropped the table. Each check must now be one statement the SQL
 * engine proves read-only, sent with the extended protocol, inside BEGIN READ ONLY.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { sharedCluster, sql } from '../helpers/pg.js';
import { runCli } from '../helpers/cli.js';
import { asCi, migrateFixture, type MigrateFixture } from './fixture.js';
import { applyToStaging } from '../../src/migrate/staging-apply.js';
import { applyMigrations } from '../../src/migrate/apply.js';
import { readMigrations } from '../../src/migrate/files.js';
import { historyTarget } from '../../src/migrate/history.js';
import { deploy } from '../../src/migrate/deploy.js';
import { verifyDeploy } from '../../src/migrate/verify.js';
import { runSmokeTests } from '../../src/restore/smoke.js';

const cluster = sharedCluster({ name: 'prodguard-test-health' });
let fx: MigrateFixture;
const ATTACK = 'select 1; commit; drop table canary; select 1';

let ready: Promise<void> | undefined;
const setup = () =>
  (ready ??= (async () => {
    fx = await migrateFixture(cluster(), 'hc');
    const ctx = fx.ctx();
    await applyToStaging(ctx, 'staging');
    await applyMigrations(ctx.loaded, fx.prodUrl, readMigrations(ctx.loaded).files, { actor: 'setup', changeHash: 'setup', history: historyTarget(ctx.loaded) });
    // The same table on both sides, so the schemas stay equal and only the health checks matter.
    for (const url of [fx.prodUrl, fx.stagingUrl]) await sql(url, `CREATE TABLE canary (id int); INSERT INTO canary VALUES (1)`);
  })());

after(async () => {
  await fx?.cleanup();
});

const canaryExists = async () => (await sql<{ t: string | null }>(fx.prodUrl, `SELECT to_regclass('public.canary')::text AS t`))[0].t === 'canary';
const setChecks = (checks: Array<Record<string, unknown>>) =>
  fx.updateConfig((raw) => {
    raw.migrations.healthChecks = checks;
  });


test('ap-029: a multi-statement health check (select 1; commit; drop table canary) is refused by migrate verify, naming the check; canary survives', async () => {
  await setup();
  await setChecks([{ name: 'canary', sql: ATTACK }]);
  await assert.rejects(verifyDeploy(fx.ctx(), 'production'), (e: Error) => {
    assert.match(e.message, /^health check "canary" refused: it has 4 statements; it must be one read-only statement$/);
    return true;
  });
  assert.ok(await canaryExists(), 'the health check dropped canary on production');
});

test('ap-064: the config-only attack through the generated CI steps — deploy (nothing pending) and the CLI verify both refuse, one line, canary survives', async () => {
  await setup();
  await setChecks([{ name: 'canary', sql: ATTACK }]);
  await assert.rejects(asCi(fx, () => deploy(fx.ctx(), 'production')), /health check "canary" refused: it has 4 statements/);
  const r = await runCli(['migrate', 'verify', '--env', 'production'], { cwd: fx.dir, env: { ...fx.env, CI: 'true', PRODGUARD_ACTOR: 'ci' } });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /health check "canary" refused/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.ok(await canaryExists(), 'the health check dropped canary on production');
});

test('ap-029: one statement the SQL engine does not prove read-only (DELETE, nextval, pg_terminate_backend, unparsable) is refused before it is sent', async () => {
  await setup();
  for (const [sqlText, why] of [
    ['DELETE FROM canary', /destructive/],
    [`SELECT nextval('canary_seq')`, /write: nextval\(\)/],
    ['SELECT pg_terminate_backend(1)', /destructive/],
    ['SELEC 1', /does not parse/],
    ['-- nothing', /it has 0 statements/],
  ] as const) {
    await setChecks([{ name: 'ok one', sql: 'SELECT count(*) FROM canary', min: 1 }, { name: 'bad one', sql: sqlText }]);
    await assert.rejects(verifyDeploy(fx.ctx(), 'production'), (e: Error) => {
      assert.match(e.message, /^health check "bad one" refused: /);
      assert.match(e.message, why);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    }, sqlText);
  }
  assert.deepEqual(await sql(fx.prodUrl, 'SELECT id FROM canary'), [{ id: 1 }]);
});

test('ap-029: a read-only health check runs in BEGIN READ ONLY with default_transaction_read_only on, and passes', async () => {
  await setup();
  await setChecks([
    { name: 'canary readable', sql: 'SELECT count(*) FROM canary;', min: 1 },
    { name: 'read-only transaction', sql: `SELECT current_setting('transaction_read_only')`, expect: 'on' },
    { name: 'second wall', sql: `SELECT current_setting('default_transaction_read_only')`, expect: 'on' },
    { name: 'wrong value fails', sql: 'SELECT count(*) FROM canary', expect: 2 },
  ]);
  const v = await verifyDeploy(fx.ctx(), 'production', { audit: false });
  assert.deepEqual(v.health.map((h) => [h.name, h.ok]), [['canary readable', true], ['read-only transaction', true], ['second wall', true], ['wrong value fails', false]]);
  assert.deepEqual(v.lines, ['health check wrong value fails failed: the value differs from the expected one (1 row(s), expected = 2)']);
});

test('ap-029: the extended protocol is the transport — a multi-statement text is refused by the server even if it reached it', async () => {
  await setup();
  // Drill smoke tests share the runner (they run on a throw-away cluster, but COPY … PROGRAM there
  // would still run on this machine): the same refusal, naming the list.
  await assert.rejects(runSmokeTests(fx.prodUrl, [{ name: 'x', sql: ATTACK }]), /^RefusedError: smoke test "x" refused: it has 4 statements/);
  const { withClient } = await import('../../src/pg/client.js');
  await withClient(fx.prodUrl, async (c) => {
    await assert.rejects(c.query({ text: ATTACK, queryMode: 'extended' } as never), /cannot insert multiple commands into a prepared statement/);
  });
  assert.ok(await canaryExists());
});

test('w5c-081: a failing health check reports its name, row count and how it failed — never production\'s values — in the result, the CLI output (text and --json) and the audit log', async () => {
  await setup();
  await sql(fx.prodUrl, `CREATE TABLE IF NOT EXISTS customers (id int, name text, email text); INSERT INTO customers VALUES (1, 'Ada Secret', 'ada@secret.example'), (2, 'Bob Hidden', 'bob@hidden.example')`);
  await sql(fx.stagingUrl, `CREATE TABLE IF NOT EXISTS customers (id int, name text, email text)`);
  await setChecks([
    { name: 'leak', sql: `select string_agg(name||':'||email, ',') from customers where id < 4`, expect: 'nope' },
    { name: 'leak-min', sql: `select min(email) from customers`, min: 1 },
    { name: 'leak-error', sql: `select email::int from customers`, expect: 1 },
  ]);
  try {
    const v = await verifyDeploy(fx.ctx(), 'production');
    assert.equal(v.ok, false);
    assert.deepEqual(v.health, [
      { name: 'leak', ok: false, rows: 1, expected: '= nope', failure: 'the value differs from the expected one' },
      { name: 'leak-min', ok: false, rows: 1, expected: '≥ 1', failure: 'the value is not a number' },
      { name: 'leak-error', ok: false, rows: 0, expected: '= 1', failure: 'the query failed (SQLSTATE 22P02)' },
    ]);
    const secret = /Ada|Bob|secret\.example|hidden\.example/;
    assert.doesNotMatch(JSON.stringify(v), secret);
    for (const args of [['migrate', 'verify', '--env', 'production'], ['migrate', 'verify', '--env', 'production', '--json']]) {
      const r = await runCli(args, { cwd: fx.dir, env: fx.env });
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, /health check leak failed: the value differs from the expected one \(1 row\(s\), expected = nope\)|"failure":\s*"the value differs/);
      assert.doesNotMatch(r.stdout + r.stderr, secret);
    }
    const audit = fx.ctx().auditLog.read().filter((a) => a.action === 'migrate.verify');
    assert.ok(audit.length >= 3);
    assert.doesNotMatch(JSON.stringify(audit), secret, 'the audit log (and so the team store) holds no row values');
  } finally {
    await setChecks([]);
    for (const url of [fx.prodUrl, fx.stagingUrl]) await sql(url, 'DROP TABLE IF EXISTS customers');
  }
});
