/** The gateway's statement judge: read-only verdicts, the walls it adds, and a shape cache that cannot be fooled. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadSqlParser } from '../../src/sql/parser.js';
import { judgeSql, maskLiterals, shapeKey } from '../../src/gateway/judge.js';
import { newClassifyContext } from '../../src/sql/classify.js';

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

test('a verdict that depends on a constant is never shared by shape (pg_sleep(1) is a read, pg_sleep(100) is not)', () => {
  assert.equal(judgeSql('SELECT pg_sleep(1)').readOnlyOk, true);
  assert.equal(judgeSql('SELECT pg_sleep(100)').readOnlyOk, false, 'a long sleep holds a snapshot');
  assert.equal(judgeSql('SELECT pg_sleep(0.5) FROM t WHERE a = 1').readOnlyOk, true);
  assert.equal(judgeSql('SELECT pg_sleep(5.5) FROM t WHERE a = 1').readOnlyOk, false);
  assert.equal(judgeSql('SELECT pg_sleep(1::int)').readOnlyOk, true);
  assert.equal(judgeSql('SELECT pg_sleep(9::int)').readOnlyOk, false);
  // Texts that differ in statement counts, set_config names or sequence names never share a key.
  assert.equal(judgeSql('SELECT set_config(1, 2, false)').readOnlyOk, false);
});

test('shape keys hide only plain numbers and refuse any text whose lexing a digit could change', () => {
  assert.equal(shapeKey('SELECT abalance FROM pgbench_accounts WHERE aid = 12'), shapeKey('SELECT abalance FROM pgbench_accounts WHERE aid = 99999'));
  assert.equal(shapeKey('SELECT a FROM t WHERE x = 1.5 LIMIT 3'), shapeKey('SELECT a FROM t WHERE x = 2.25 LIMIT 10'));
  assert.notEqual(shapeKey('SELECT * FROM t1'), shapeKey('SELECT * FROM t2'), 'digits inside identifiers are kept');
  assert.notEqual(shapeKey('SELECT a1 FROM t'), shapeKey('SELECT a2 FROM t'));
  for (const s of ["SELECT '1'", 'SELECT "t1".a', 'SELECT $1', 'SELECT 1 -- 2', 'SELECT 1 /* 2 */', 'SELECT 1e5', 'SELECT 0x1F', 'SELECT 1_000', 'SELECT .5', 'SELECT t.1', 'SELECT 1.', 'SELECT 1abc', 'SELECT \\1', 'SELECT 1 FROM tä', 'SELECT 1\u0001']) {
    assert.equal(shapeKey(s), null, s);
  }
  assert.equal(judgeSql('SELECT 1 FROM t WHERE a = 1').readOnlyOk, true);
  assert.equal(judgeSql('SELECT 1 FROM t WHERE a = 1 FOR UPDATE').readOnlyOk, false);
  // A shape entry's masked text is what maskLiterals gives for every text of that shape.
  const texts = ['SELECT x FROM m WHERE a = 1 AND b > -2.5 LIMIT 10', 'SELECT x FROM m WHERE a = 987654 AND b > -0.1 LIMIT 3', 'SELECT x FROM m WHERE a = 0 AND b > -77 LIMIT 1'];
  judgeSql(texts[0]);
  for (const t of texts.slice(1)) {
    const j = judgeSql(t);
    assert.equal(j.masked, maskLiterals(t), t);
    assert.doesNotMatch(j.masked!, /987654|77/);
  }
});

test('the gateway’s own wall: nothing may reset or turn off the read-only settings, whatever the classifier calls it', () => {
  for (const s of [
    'RESET ALL',
    'RESET default_transaction_read_only',
    'RESET transaction_read_only',
    'SET default_transaction_read_only TO DEFAULT',
    'SET transaction_read_only = off',
    "SET default_transaction_read_only = 'false'",
    'SET LOCAL default_transaction_read_only = 0',
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SELECT set_config('transaction_read_only', 'off', true)",
    "SELECT pg_catalog.set_config(current_setting('x.y'), 'off', false)",
    'SELECT 1; RESET ALL',
  ]) {
    const j = judgeSql(s);
    assert.equal(j.readOnlyOk, false, s);
    assert.equal(j.class, 'privilege', s);
  }
  for (const s of ['SET default_transaction_read_only = on', 'SET transaction_read_only = true', 'RESET work_mem', "SET statement_timeout = '30s'"]) assert.equal(judgeSql(s).readOnlyOk, true, s);
  assert.equal(judgeSql('SET statement_timeout = 0').readOnlyOk, false, 'a safety limit may not be removed');
});

test('FETCH and EXECUTE are judged by the session’s own DECLARE/PREPARE, and no cache lends a context-dependent verdict', () => {
  const fresh = newClassifyContext();
  assert.equal(judgeSql('FETCH 10 FROM c1', fresh).readOnlyOk, false, 'a cursor this session never declared');
  const session = newClassifyContext();
  session.cursors.set('c1', { class: 'read', hold: false });
  session.prepared.set('p1', 'read');
  session.prepared.set('p2', 'write');
  assert.equal(judgeSql('FETCH 10 FROM c1', session).readOnlyOk, true, 'declared read in this session');
  assert.equal(judgeSql('FETCH 10 FROM c1', fresh).readOnlyOk, false, 'the verdict of another session is not served from a cache');
  assert.equal(judgeSql('FETCH 10 FROM c1').readOnlyOk, false);
  assert.equal(judgeSql('EXECUTE p1', session).readOnlyOk, true);
  assert.equal(judgeSql('EXECUTE p1', fresh).readOnlyOk, false);
  assert.equal(judgeSql('EXECUTE p2', session).readOnlyOk, false, 'prepared as a write');
  assert.equal(judgeSql('EXPLAIN EXECUTE p1', session).readOnlyOk, true);
  assert.equal(judgeSql('EXPLAIN EXECUTE p1', fresh).readOnlyOk, false);
  // Same message: the DECLARE before the FETCH counts; the text alone fixes that, in any session.
  assert.equal(judgeSql('DECLARE c2 CURSOR FOR SELECT 1; FETCH c2', fresh).readOnlyOk, true);
  assert.equal(judgeSql('DECLARE c2 CURSOR FOR SELECT nextval($$s$$); FETCH c2', fresh).readOnlyOk, false);
  assert.equal(judgeSql('CLOSE c1; FETCH c1', session).readOnlyOk, false, 'closed earlier in the same message');
  // Judging never changes the session's record: only the server's answer does (the gateway session).
  assert.equal(judgeSql('DECLARE c3 CURSOR FOR SELECT 1', session).readOnlyOk, true);
  assert.equal(session.cursors.has('c3'), false);
  assert.equal(judgeSql('FETCH c3', session).readOnlyOk, false);
  // DECLARE … WITH HOLD keeps a result beyond the transaction: refused (the classifier's rule).
  assert.equal(judgeSql('DECLARE h CURSOR WITH HOLD FOR SELECT 1', fresh).readOnlyOk, false);
});

test('maskLiterals replaces strings and numbers, keeps identifiers, parameters and quoted names', () => {
  assert.equal(maskLiterals(`SELECT "t1".a2 FROM t1 WHERE x = 'o''k' AND y = 42 AND z = -1.5e3 AND w = $1 AND v = E'\\'s' AND d = $$dollar$$`), `SELECT "t1".a2 FROM t1 WHERE x = ? AND y = ? AND z = ? AND w = $1 AND v = ? AND d = ?`);
});

test('red team w5d: reads that hand out what the gateway’s credentials see are refused here, though the command guard allows them', () => {
  const refused = [
    "SELECT query FROM pg_stat_activity WHERE pid <> pg_backend_pid()",
    'SELECT * FROM pg_catalog.pg_stat_activity',
    'SELECT pid, query FROM pg_stat_get_activity(NULL)',
    'SELECT pg_stat_get_backend_activity(1)',
    'SELECT query FROM pg_stat_statements',
    'SELECT query FROM extensions.pg_stat_statements',
    'SELECT * FROM pg_stat_statements(true)',
    "SELECT name, setting FROM pg_settings WHERE name = 'primary_conninfo'",
    'SELECT * FROM pg_show_all_settings()',
    'SELECT setconfig FROM pg_db_role_setting',
    "SELECT histogram_bounds::text FROM pg_stats WHERE tablename = 'pg_authid'",
    'SELECT * FROM pg_stats_ext',
    'SHOW ALL',
    'SHOW primary_conninfo',
    'SHOW "app.settings.jwt_secret"',
    'SHOW prodguard.token',
    "SELECT current_setting('primary_conninfo')",
    "SELECT current_setting('app.settings.jwt_secret', true)",
    "SELECT current_setting('PRODGUARD.TOKEN')",
    'SELECT current_setting(name) FROM (VALUES (1)) v(name)',
    "WITH a AS (SELECT query FROM pg_stat_activity) SELECT * FROM a",
    'SELECT * FROM pg_stat_activity',
    'SELECT a FROM pg_stat_activity a',
  ];
  for (const s of refused) {
    const j = judgeSql(s);
    assert.equal(j.readOnlyOk, false, s);
    // pg_stat_statements() is not a built-in: refused as an unknown function already.
    assert.equal(j.class, s.includes('pg_stat_statements(') ? 'write' : 'privilege', s);
  }
  // Since wave 6 pg_stat_activity and pg_settings are refused by column (query; setting), not whole
  // (red team w6d-758..763: counting sessions is ordinary monitoring).
  for (const s of ["SELECT 1 WHERE EXISTS (SELECT 1 FROM pg_stat_activity)", 'SELECT count(*) FROM pg_stat_activity', "SELECT name FROM pg_settings WHERE name = 'work_mem'", 'SHOW search_path', 'SHOW work_mem', "SELECT current_setting('server_version_num')", "SELECT current_setting('search_path')", 'SELECT count(*) FROM pg_locks', 'SELECT relname FROM pg_class', 'SELECT * FROM pg_stat_user_tables']) {
    assert.equal(judgeSql(s).readOnlyOk, true, s);
  }
});

test('red team w5d (over-blocking): pg_dump’s set_config(search_path, empty) passes; any other search_path does not', () => {
  assert.equal(judgeSql("SELECT pg_catalog.set_config('search_path', '', false);").readOnlyOk, true);
  assert.equal(judgeSql("SELECT set_config('search_path', 'pg_catalog', false)").readOnlyOk, true);
  assert.equal(judgeSql("SELECT set_config('search_path', 'evil, pg_catalog', false)").readOnlyOk, false);
  assert.equal(judgeSql("SELECT set_config('search_path', current_user, false)").readOnlyOk, false);
});
