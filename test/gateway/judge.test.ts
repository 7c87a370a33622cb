/** The gateway's statement judge: read-only verdicts, the walls it adds, and a shape cache that cannot be fooled. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadSqlParser } from '../../src/sql/parser.js';
import { judgeSql, maskLiterals } from '../../src/gateway/judge.js';

before(() => loadSqlParser());

test('reads and harmless session statements pass; anything lifting read-only mode does not', () => {
  for (const s of ['SELECT 1', 'SELECT * FROM t WHERE id = 7', 'SHOW work_mem', 'BEGIN', 'BEGIN READ ONLY', 'SET search_path = app', 'COMMIT', '']) assert.equal(judgeSql(s).readOnlyOk, true, s);
  for (const s of ['BEGIN READ WRITE', 'START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE', 'SET default_transaction_read_only = off', 'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE', 'RESET ALL', 'DELETE FROM t WHERE id = 1', 'SELECT 1; DELETE FROM t', 'SELEC 1']) {
    assert.equal(judgeSql(s).readOnlyOk, false, s);
  }
  assert.equal(judgeSql('SELEC 1').class, 'unparsed');
});

test('the shape cache never lends a read verdict to a write that differs only in digits or constants', () => {
  assert.equal(judgeSql(`SELECT sha224('x')`).readOnlyOk, true);
  assert.equal(judgeSql(`SELECT sha225('x')`).readOnlyOk, false, 'an unknown function named like a known one');
  assert.equal(judgeSql('SELECT * FROM t1 WHERE a = 1').readOnlyOk, true);
  assert.equal(judgeSql('SELECT * FROM t1 WHERE a = 2 FOR UPDATE').readOnlyOk, false);
  assert.equal(judgeSql('SELECT $q1$$q1$, $q1$; DELETE FROM t; SELECT $q1$').readOnlyOk, true, 'one SELECT of two string constants');
  assert.equal(judgeSql('SELECT $q1$$q2$, $q1$; DELETE FROM t; SELECT $q2$').readOnlyOk, false, 'a changed dollar-quote tag changes the lexing');
  assert.equal(judgeSql('SELECT 1; SET default_transaction_read_only = 1').readOnlyOk, true);
  assert.equal(judgeSql('SELECT 1; SET default_transaction_read_only = 0').readOnlyOk, false, 'multi-statement texts are not cached by shape');
  assert.equal(judgeSql('EXPLAIN (ANALYZE 0) DELETE FROM t').readOnlyOk, true, 'only plans');
  assert.equal(judgeSql('EXPLAIN (ANALYZE 1) DELETE FROM t').readOnlyOk, false, 'runs the DELETE');
  assert.equal(judgeSql('SELECT abalance FROM pgbench_accounts WHERE aid = 1').readOnlyOk, true);
  assert.equal(judgeSql('SELECT abalance FROM pgbench_accounts WHERE aid = 99999').readOnlyOk, true);
});

test('maskLiterals replaces strings and numbers, keeps identifiers, parameters and quoted names', () => {
  assert.equal(maskLiterals(`SELECT "t1".a2 FROM t1 WHERE x = 'o''k' AND y = 42 AND z = -1.5e3 AND w = $1 AND v = E'\\'s' AND d = $$dollar$$`), `SELECT "t1".a2 FROM t1 WHERE x = ? AND y = ? AND z = ? AND w = $1 AND v = ? AND d = ?`);
});
