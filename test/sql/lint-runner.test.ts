/**
 * Issue #14: the linter knows who runs the file. Whether a file runs in a transaction, and whether
 * a failed file is re-run, follow the runner (src/sql/runner.ts); --runner on the CLI, detected
 * from the project when not given.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lint } from '../../src/sql/index.js';
import { detectRunner, type MigrationRunner } from '../../src/sql/runner.js';
import { makeProject, runCli } from '../helpers/cli.js';

const LONE_CONCURRENT = 'CREATE INDEX CONCURRENTLY orders_user_idx ON orders (user_id);';
const TWO_STATEMENTS = 'CREATE INDEX CONCURRENTLY orders_user_idx ON orders (user_id);\nCREATE INDEX CONCURRENTLY orders_total_idx ON orders (total);';

const ids = async (sql: string, runner: MigrationRunner) => (await lint(sql, { runner })).filter((f) => !f.suppressed).map((f) => f.ruleId).sort();

describe('lint --runner: transactions and re-runs as each runner really does', () => {
  it('prisma sends a lone statement outside a transaction: no CONCURRENTLY error, no re-run warning', async () => {
    assert.deepEqual(await ids(LONE_CONCURRENT, 'prisma'), []);
  });

  it('prisma sends several statements as one implicit transaction: CONCURRENTLY fails there', async () => {
    const hits = await ids(TWO_STATEMENTS, 'prisma');
    assert.deepEqual(hits, ['ban-concurrent-index-creation-in-transaction', 'ban-concurrent-index-creation-in-transaction']);
  });

  it('supabase always wraps the file (with its history insert): a lone CONCURRENTLY fails', async () => {
    assert.deepEqual(await ids(LONE_CONCURRENT, 'supabase'), ['ban-concurrent-index-creation-in-transaction']);
    // Its opt-out comment is prodguard's, not Supabase's: it changes nothing here.
    assert.deepEqual(await ids(`-- prodguard: no-transaction\n${LONE_CONCURRENT}`, 'supabase'), ['ban-concurrent-index-creation-in-transaction']);
  });

  it('prodguard wraps unless the file opts out; an opted-out file is re-run, so statements must be re-runnable', async () => {
    assert.deepEqual(await ids(LONE_CONCURRENT, 'prodguard'), ['ban-concurrent-index-creation-in-transaction']);
    assert.deepEqual(await ids(`-- prodguard: no-transaction\n${LONE_CONCURRENT}`, 'prodguard'), ['prefer-robust-stmts']);
    assert.deepEqual(await ids('-- prodguard: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_user_idx ON orders (user_id);', 'prodguard'), []);
  });

  it('flyway runs a file with a non-transactional statement outside a transaction and re-runs it after repair', async () => {
    assert.deepEqual(await ids(LONE_CONCURRENT, 'flyway'), ['prefer-robust-stmts']);
    assert.deepEqual(await ids('CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY);', 'flyway'), []);
  });

  it('none (psql -f): no transaction, re-run by hand', async () => {
    assert.deepEqual(await ids(LONE_CONCURRENT, 'none'), ['prefer-robust-stmts']);
    assert.deepEqual(await ids('CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY);', 'none'), ['prefer-robust-stmts']);
  });

  it('prefer-robust-stmts stays silent where the runner never re-runs a file (prisma, supabase)', async () => {
    const sql = 'CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY);\nCREATE INDEX CONCURRENTLY t_id_idx ON t (id);';
    assert.ok(!(await ids(sql, 'prisma')).includes('prefer-robust-stmts'));
    assert.ok(!(await ids(sql, 'supabase')).includes('prefer-robust-stmts'));
  });

  it('without a runner the library lints the prodguard way (unchanged default)', async () => {
    assert.deepEqual((await lint(LONE_CONCURRENT)).map((f) => f.ruleId), ['ban-concurrent-index-creation-in-transaction']);
  });
});

describe('runner detection from the project', () => {
  const cases: Array<[string, Record<string, string>, MigrationRunner | undefined]> = [
    ['prodguard.yaml', { 'prodguard.yaml': 'x: 1\n', 'supabase/config.toml': '' }, 'prodguard'],
    ['supabase/config.toml', { 'supabase/config.toml': '' }, 'supabase'],
    ['prisma/schema.prisma', { 'prisma/schema.prisma': '' }, 'prisma'],
    ['prisma/migrations/', { 'prisma/migrations/20240101_init/migration.sql': 'select 1;' }, 'prisma'],
    ['flyway.conf', { 'flyway.conf': 'flyway.url=x\n' }, 'flyway'],
    ['db/migration/V1__init.sql', { 'db/migration/V1__init.sql': 'select 1;' }, 'flyway'],
    ['nothing', { 'README.md': '' }, undefined],
  ];
  const projects: Array<{ cleanup: () => void }> = [];
  after(() => projects.forEach((p) => p.cleanup()));
  for (const [what, files, expected] of cases) {
    it(`${what} → ${expected ?? 'no runner'}`, () => {
      const p = makeProject(files);
      projects.push(p);
      assert.equal(detectRunner(p.dir)?.runner, expected);
    });
  }
});

describe('prodguard lint --runner on the command line', () => {
  const project = makeProject({ 'prisma/schema.prisma': '', 'prisma/migrations/20240101_idx/migration.sql': LONE_CONCURRENT + '\n' });
  after(() => project.cleanup());

  it('detects prisma from the project: a lone CONCURRENTLY file passes', async () => {
    const r = await runCli(['lint', 'prisma/migrations/20240101_idx/migration.sql'], { cwd: project.dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  it('--runner supabase overrides the detection: the same file fails', async () => {
    const r = await runCli(['lint', '--runner', 'supabase', 'prisma/migrations/20240101_idx/migration.sql'], { cwd: project.dir });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /ban-concurrent-index-creation-in-transaction/);
  });

  it('an unknown runner is a one-line usage error (exit 2)', async () => {
    const r = await runCli(['lint', '--runner', 'liquibase', 'prisma/migrations'], { cwd: project.dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--runner must be prisma, supabase, prodguard, flyway or none, got "liquibase"/);
    assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
  });

  it('--postgres-version 11 makes ALTER TYPE … ADD VALUE in a transaction an error', async () => {
    const r = await runCli(['lint', '--runner', 'prodguard', '--postgres-version', '11', '-'], { cwd: project.dir, input: "ALTER TYPE order_status ADD VALUE 'refunded';\n" });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /cannot run inside a transaction block before PostgreSQL 12 \(target: 11\)/);
    const bad = await runCli(['lint', '--postgres-version', 'twelve', '-'], { cwd: project.dir, input: 'select 1;' });
    assert.equal(bad.code, 2);
  });
});

describe('transaction-nesting under prisma', () => {
  it('BEGIN … COMMIT around a whole Prisma file is fine; statements after a COMMIT are not all-or-nothing', async () => {
    assert.deepEqual(await ids('BEGIN;\nCREATE TABLE t (id bigint);\nCOMMIT;', 'prisma'), []);
    assert.deepEqual(await ids('BEGIN;\nCREATE TABLE t (id bigint);\nCOMMIT;\nCREATE TABLE u (id bigint);', 'prisma'), ['transaction-nesting']);
  });
});
