/** The lint engine: suppressions, transaction handling, migration state and positions. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lint, SqlSyntaxError } from '../../src/sql/index.js';

const ids = (fs: Array<{ ruleId: string; suppressed?: unknown }>) => fs.filter((f) => !f.suppressed).map((f) => f.ruleId);

describe('lint', () => {
  it('reports the file, 1-based line and column, and the statement text', async () => {
    const f = await lint('SET lock_timeout = \'1s\';\n\n  ALTER TABLE users DROP COLUMN email;\n', { file: 'm/001.sql' });
    assert.deepEqual(f.map((x) => [x.ruleId, x.severity, x.file, x.line, x.column, x.statement]), [
      ['ban-drop-column', 'error', 'm/001.sql', 3, 3, 'ALTER TABLE users DROP COLUMN email'],
    ]);
    assert.equal(f[0].message, 'dropping column email of users deletes its data and breaks code that still uses it');
  });

  it('points the caret at the offending column or constraint, counting characters', async () => {
    const f = await lint("SET lock_timeout = '1s';\nALTER TABLE \"naïve\" ADD COLUMN x int,\n  ADD CONSTRAINT c CHECK (x > 0);");
    assert.deepEqual(f.map((x) => [x.ruleId, x.line, x.column]), [['constraint-missing-not-valid', 3, 7]]);
  });

  it('a suppression with a reason suppresses that rule for the next statement only, keeping the reason', async () => {
    const sql = [
      'SET lock_timeout = \'1s\';',
      '-- prodguard-ignore ban-drop-table: replaced by orders_v2, backup 2024-06-01 verified',
      'DROP TABLE orders;',
      'DROP TABLE items;',
    ].join('\n');
    const f = await lint(sql);
    const dropOrders = f.find((x) => x.statement === 'DROP TABLE orders');
    assert.deepEqual(dropOrders?.suppressed, { reason: 'replaced by orders_v2, backup 2024-06-01 verified' });
    assert.deepEqual(ids(f), ['ban-drop-table']);
    assert.equal(f.find((x) => !x.suppressed)?.statement, 'DROP TABLE items');
  });

  it('one comment can suppress several rules', async () => {
    const f = await lint('-- prodguard-ignore ban-truncate-cascade, require-timeout-settings: test fixture table\nTRUNCATE fixtures CASCADE;');
    assert.deepEqual(ids(f), []);
    assert.equal(f.filter((x) => x.suppressed).length, 2);
  });

  it('a suppression without a reason is an error and suppresses nothing', async () => {
    const f = await lint('SET lock_timeout = \'1s\';\n-- prodguard-ignore ban-drop-table\nDROP TABLE orders;');
    assert.deepEqual(ids(f).sort(), ['ban-drop-table', 'suppression-needs-reason']);
    const meta = f.find((x) => x.ruleId === 'suppression-needs-reason')!;
    assert.deepEqual([meta.line, meta.column], [2, 1]);
  });

  it('a suppression naming an unknown rule is an error', async () => {
    const f = await lint('-- prodguard-ignore ban-everything: because\nSELECT 1;');
    assert.equal(f[0].ruleId, 'suppression-needs-reason');
    assert.match(f[0].message, /unknown rule "ban-everything"/);
  });

  it('red team w5c-098: transaction-nesting cannot be suppressed (the runner refuses the file anyway)', async () => {
    const f = await lint('-- prodguard-ignore transaction-nesting: I know what I am doing\nCOMMIT;');
    assert.deepEqual(ids(f).sort(), ['suppression-needs-reason', 'transaction-nesting']);
    assert.match(f.find((x) => x.ruleId === 'suppression-needs-reason')!.message, /names transaction-nesting, which cannot be suppressed/);
    assert.ok(!f.some((x) => x.suppressed));
  });

  it('a suppression separated from the statement by a blank line does not apply', async () => {
    const f = await lint('SET lock_timeout = \'1s\';\n-- prodguard-ignore ban-drop-table: old\n\nDROP TABLE orders;');
    assert.deepEqual(ids(f), ['ban-drop-table']);
  });

  it('assumes a transaction by default; -- prodguard: no-transaction and the option turn that off', async () => {
    const sql = 'SET lock_timeout = \'1s\';\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (c);';
    assert.deepEqual(ids(await lint(sql)), ['ban-concurrent-index-creation-in-transaction']);
    assert.deepEqual(ids(await lint(sql, { assumeInTransaction: false })), []);
    assert.deepEqual(ids(await lint('-- prodguard: no-transaction\n' + sql)), []);
  });

  it('an explicit BEGIN … COMMIT is a transaction even when none is assumed', async () => {
    const sql = 'SET lock_timeout = \'1s\';\nBEGIN;\nDROP INDEX CONCURRENTLY IF EXISTS i;\nCOMMIT;\nDROP INDEX CONCURRENTLY IF EXISTS j;';
    const f = (await lint(sql, { assumeInTransaction: false })).filter((x) => !x.suppressed);
    assert.deepEqual(f.map((x) => [x.ruleId, x.statement]), [['ban-concurrent-index-creation-in-transaction', 'DROP INDEX CONCURRENTLY IF EXISTS i']]);
  });

  it('tables created in the same migration are exempt from the locking rules', async () => {
    const sql = `SET lock_timeout = '1s';
CREATE TABLE accounts (id bigint, email text);
CREATE INDEX accounts_email ON accounts (email);
ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE (email);
ALTER TABLE accounts ALTER COLUMN email SET NOT NULL;
INSERT INTO accounts VALUES (1, 'a@example.com');`;
    assert.deepEqual(ids(await lint(sql)), []);
  });

  it('require-timeout-settings fires once, at the first lock-taking statement, and not after SET lock_timeout', async () => {
    const f = await lint('ALTER TABLE a ADD COLUMN x int;\nALTER TABLE b ADD COLUMN y int;');
    assert.deepEqual(f.map((x) => [x.ruleId, x.line]), [['require-timeout-settings', 1]]);
    assert.deepEqual(await lint("SET LOCAL lock_timeout = '2s';\nALTER TABLE a ADD COLUMN x int;"), []);
  });

  it('a clean migration has no findings', async () => {
    const sql = `SET lock_timeout = '2s';
CREATE TABLE IF NOT EXISTS plans (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, created_at timestamptz DEFAULT now());
ALTER TABLE users ADD COLUMN plan_id bigint;
ALTER TABLE users ADD CONSTRAINT users_plan_fk FOREIGN KEY (plan_id) REFERENCES plans (id) NOT VALID;`;
    assert.deepEqual(await lint(sql), []);
  });

  it('unparseable SQL throws SqlSyntaxError with the position', async () => {
    await assert.rejects(lint('CREATE TABLE t (id bigint);\nALTER TABLE t ADD COLUMN;'), (e: unknown) => e instanceof SqlSyntaxError && e.line === 2);
  });
});
