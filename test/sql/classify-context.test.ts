/**
 * Issue #14: what the classifier may conclude from earlier statements of the same input (cursors,
 * prepared statements, temp tables, routines), the function catalogue generated from pg_proc,
 * and session settings that remove safety limits. The RESET ALL claim is checked on a real server.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sharedCluster } from '../helpers/pg.js';
import { connect } from '../../src/pg/client.js';
import { classify, classifySync, loadSqlParser, newClassifyContext, safetyLimitViolation } from '../../src/sql/index.js';
import { CATALOGUE_READ_ONLY } from '../../src/sql/function-catalogue.js';
import { CATALOGUE_DENY } from '../../src/sql/function-deny.js';
import { isReadOnlyFunction } from '../../src/sql/functions.js';
import { judgeSql } from '../../src/guard/sql-judge.js';

const classes = async (sql: string) => (await classify(sql)).map((s) => s.class);

describe('classifier context: only what this input established counts', () => {
  it('FETCH/MOVE from a cursor declared elsewhere is unknown (write); after a read DECLARE in the same input it is read', async () => {
    assert.deepEqual(await classes('FETCH ALL FROM c'), ['write']);
    assert.deepEqual(await classes('MOVE NEXT IN c'), ['write']);
    assert.match((await classify('FETCH 10 FROM c'))[0].reason, /DECLARE is not in this input/);
    assert.deepEqual(await classes('BEGIN; DECLARE c CURSOR FOR SELECT 1; FETCH ALL FROM c; MOVE c; COMMIT'), ['session', 'read', 'read', 'read', 'session']);
  });

  it('a cursor whose query writes makes its FETCH a write; CLOSE and COMMIT forget the cursor', async () => {
    assert.deepEqual(await classes('BEGIN; DECLARE w CURSOR FOR SELECT nextval(\'s\'); FETCH w'), ['session', 'write', 'write']);
    assert.deepEqual(await classes('BEGIN; DECLARE c CURSOR FOR SELECT 1; CLOSE c; FETCH c'), ['session', 'read', 'session', 'write']);
    assert.deepEqual(await classes('BEGIN; DECLARE c CURSOR FOR SELECT 1; COMMIT; FETCH c'), ['session', 'read', 'session', 'write']);
  });

  it('DECLARE … WITH HOLD is refused (its result outlives the transaction)', async () => {
    const [s] = await classify('DECLARE h CURSOR WITH HOLD FOR SELECT 1');
    assert.equal(s.class, 'write');
    assert.match(s.reason, /WITH HOLD/);
  });

  it('EXECUTE is judged by the PREPARE of the same input, else unknown', async () => {
    assert.deepEqual(await classes('EXECUTE q(1)'), ['write']);
    assert.deepEqual(await classes('PREPARE q(int) AS SELECT $1 + 1; EXECUTE q(1); EXPLAIN EXECUTE q(2)'), ['read', 'read', 'read']);
    assert.deepEqual(await classes("PREPARE w AS SELECT nextval('s'); EXECUTE w"), ['write', 'write']);
    assert.deepEqual(await classes('PREPARE q AS SELECT 1; DEALLOCATE q; EXECUTE q'), ['read', 'session', 'write']);
    assert.deepEqual(await classes('PREPARE q AS SELECT 1; DISCARD ALL; EXECUTE q'), ['read', 'privilege', 'write']);
    assert.deepEqual(await classes('BEGIN; DECLARE c CURSOR FOR SELECT 1; DISCARD ALL; FETCH c'), ['session', 'read', 'privilege', 'write']);
  });

  it('writes to a temp table are session-only after CREATE TEMP in the same input, writes elsewhere are not', async () => {
    assert.deepEqual(await classes('INSERT INTO scratch VALUES (1)'), ['write']);
    assert.deepEqual(await classes('CREATE TEMP TABLE scratch (a int); INSERT INTO scratch VALUES (1); UPDATE scratch SET a = 2; DELETE FROM scratch'), ['ddl', 'session', 'session', 'session']);
    // Qualified with another schema: not the temp table.
    assert.deepEqual(await classes('CREATE TEMP TABLE scratch (a int); INSERT INTO public.scratch VALUES (1)'), ['ddl', 'write']);
    // A permanent table of the same name, a changed search_path, a rollback or a rename: fail closed.
    assert.deepEqual(await classes('CREATE TEMP TABLE scratch (a int); DROP TABLE scratch; INSERT INTO scratch VALUES (1)'), ['ddl', 'destructive', 'write']);
    assert.deepEqual(await classes('CREATE TEMP TABLE scratch (a int); SET search_path = public, pg_temp; INSERT INTO scratch VALUES (1)'), ['ddl', 'session', 'write']);
    assert.deepEqual(await classes('BEGIN; CREATE TEMP TABLE scratch (a int); ROLLBACK; INSERT INTO scratch VALUES (1)'), ['session', 'ddl', 'session', 'write']);
    assert.deepEqual(await classes('CREATE TEMP TABLE scratch (a int); CREATE TABLE scratch (a int); INSERT INTO scratch VALUES (1)'), ['ddl', 'ddl', 'write']);
    // A temp-table write that also writes a real table through a CTE is a write.
    assert.deepEqual((await classes('CREATE TEMP TABLE scratch (a int); WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING id) INSERT INTO scratch SELECT id FROM d'))[1], 'write');
  });

  it('nextval/setval on a temp sequence of the same input are session-only; currval and lastval read', async () => {
    assert.deepEqual(await classes("CREATE TEMP SEQUENCE ts; SELECT nextval('ts'), setval('ts', 5)"), ['ddl', 'read']);
    assert.deepEqual(await classes("SELECT nextval('ts')"), ['write']);
    assert.deepEqual(await classes("SELECT currval('orders_id_seq'), lastval()"), ['read']);
  });

  it('routines created in the input are read-only only when their body is', async () => {
    assert.deepEqual(
      await classes("CREATE FUNCTION f(int) RETURNS int LANGUAGE sql AS 'SELECT $1 + 1'; SELECT f(1)"),
      ['ddl', 'read'],
    );
    assert.deepEqual(
      await classes('CREATE FUNCTION g() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE $q$x$q$; RETURN 1; END $$; SELECT g()'),
      ['ddl', 'read'],
    );
    assert.deepEqual(await classes("CREATE FUNCTION w() RETURNS int LANGUAGE sql AS 'INSERT INTO t VALUES (1) RETURNING 1'; SELECT w()"), ['ddl', 'write']);
    assert.deepEqual(await classes("CREATE FUNCTION d() RETURNS int LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'select 1'; RETURN 1; END $$; SELECT d()"), ['ddl', 'write']);
    assert.deepEqual(await classes("CREATE FUNCTION c() RETURNS int LANGUAGE c AS 'lib', 'sym'; SELECT c()"), ['ddl', 'write']);
    // One unknown overload taints the name.
    assert.deepEqual(
      await classes("CREATE FUNCTION o(int) RETURNS int LANGUAGE sql AS 'SELECT 1'; CREATE FUNCTION o(text) RETURNS int LANGUAGE sql AS 'DELETE FROM t RETURNING 1'; SELECT o(1)"),
      ['ddl', 'ddl', 'write'],
    );
    assert.deepEqual(await classes('SELECT f(1)'), ['write']);
  });

  it('a context can continue one input across calls (one file sent statement by statement), never across inputs', async () => {
    await loadSqlParser();
    const ctx = newClassifyContext();
    classifySync('BEGIN; DECLARE c CURSOR FOR SELECT 1', ctx);
    assert.equal(classifySync('FETCH c', ctx)[0].class, 'read');
    assert.equal(classifySync('FETCH c')[0].class, 'write');
  });
});

describe('function catalogue generated from pg_proc', () => {
  it('knows the built-ins behind LIKE … ESCAPE, SIMILAR TO, bit_count, multiranges, xmlexists, getdatabaseencoding', async () => {
    for (const f of ['like_escape', 'similar_to_escape', 'bit_count', 'float4send', 'int4multirange', 'range_merge', 'getdatabaseencoding', 'xmlexists']) {
      assert.ok(isReadOnlyFunction([f]), `${f} should be read-only`);
    }
    assert.deepEqual(await classes("SELECT 'a_b' LIKE 'a$_b' ESCAPE '$', 'abc' SIMILAR TO 'a%', bit_count(B'101')"), ['read']);
  });

  it('never contains a deny-listed or volatile dangerous function', () => {
    for (const f of CATALOGUE_DENY) assert.ok(!isReadOnlyFunction([f]), `${f} is denied`);
    for (const f of ['pg_terminate_backend', 'pg_cancel_backend', 'set_config', 'nextval', 'setval', 'lo_import', 'lo_export', 'lo_unlink', 'lo_put', 'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_advisory_lock', 'pg_notify', 'txid_current', 'pg_current_xact_id', 'dblink', 'dblink_exec', 'query_to_xml', 'ts_stat', 'pg_reload_conf', 'pg_switch_wal', 'fmgr_c_validator']) {
      assert.ok(!CATALOGUE_READ_ONLY.has(f) || CATALOGUE_DENY.has(f), `${f} must not be in the generated catalogue`);
      assert.ok(!isReadOnlyFunction([f]), `${f} must not be read-only`);
    }
    assert.ok(CATALOGUE_READ_ONLY.size > 2000, 'the catalogue was generated from a real pg_proc');
  });

  it('only pg_catalog (or unqualified) names count: public.lower() is user code', async () => {
    assert.equal(isReadOnlyFunction(['public', 'lower']), false);
    assert.equal(isReadOnlyFunction(['pg_catalog', 'lower']), true);
  });

  it('pg_sleep of a second or less reads; longer sleeps hold a snapshot and are refused', async () => {
    assert.deepEqual(await classes('SELECT pg_sleep(0)'), ['read']);
    assert.deepEqual(await classes('SELECT pg_sleep(0.5)'), ['read']);
    assert.deepEqual(await classes('SELECT pg_sleep(600)'), ['write']);
    assert.deepEqual(await classes('SELECT pg_sleep(x) FROM t'), ['write']);
  });
});

describe('session settings that remove safety limits', () => {
  for (const sql of ['SET statement_timeout = 0', "SET lock_timeout = '0'", 'SET SESSION idle_in_transaction_session_timeout TO 0', "SET work_mem = '64GB'", 'SET maintenance_work_mem = 8000000', 'SET temp_file_limit = -1', "SET LOCAL statement_timeout = '0s'"]) {
    it(`refuses ${sql}`, async () => {
      const [s] = await classify(sql);
      assert.equal(s.class, 'privilege', s.reason);
    });
  }
  for (const sql of ["SET statement_timeout = '30s'", "SET work_mem = '64MB'", 'RESET statement_timeout', 'SET lock_timeout TO DEFAULT', 'RESET ALL']) {
    it(`allows ${sql}`, async () => {
      const [s] = await classify(sql);
      assert.equal(s.class, 'session', s.reason);
    });
  }

  it('safetyLimitViolation is one function for every door (the gateway calls it with name and value)', () => {
    assert.match(safetyLimitViolation('statement_timeout', '0') ?? '', /removes the time limit/);
    assert.match(safetyLimitViolation('work_mem', '2GB') ?? '', /above the cap/);
    assert.equal(safetyLimitViolation('work_mem', '2GB', { maxMemoryBytes: 4 * 1024 ** 3 }), undefined);
    assert.match(safetyLimitViolation('work_mem', 'lots') ?? '', /cannot be read/);
    assert.equal(safetyLimitViolation('statement_timeout', '5min'), undefined);
    assert.equal(safetyLimitViolation('statement_timeout', undefined), undefined);
    assert.equal(safetyLimitViolation('search_path', '0'), undefined);
  });

  it('the guard refuses SQL that lifts a limit and allows the same SQL without it', async () => {
    const target: Parameters<typeof judgeSql>[1] = { name: 'production', kind: 'production', label: 'production', via: 'test' };
    const refused = await judgeSql('SET statement_timeout = 0; SELECT * FROM orders', target, 'psql -c');
    assert.equal(refused?.risk, 'change');
    const allowed = await judgeSql("SET statement_timeout = '30s'; SELECT * FROM orders", target, 'psql -c');
    assert.equal(allowed?.risk, 'read');
  });
});

describe('RESET ALL on a real server keeps role, session authorization and the read-only default', () => {
  const cluster = sharedCluster();

  it('after SET ROLE and RESET ALL the role stays; a read-only default from the connection stays on', async () => {
    const admin = await connect(cluster().url());
    await admin.query('CREATE ROLE reader NOLOGIN; GRANT reader TO postgres');
    await admin.end();
    const url = new URL(cluster().url());
    url.searchParams.set('options', '-c default_transaction_read_only=on');
    const c = await connect(url.toString());
    try {
      await c.query('SET ROLE reader');
      await c.query("SET statement_timeout = '5s'");
      await c.query('RESET ALL');
      const row = (await c.query("SELECT current_user AS who, current_setting('default_transaction_read_only') AS ro, current_setting('statement_timeout') AS st")).rows[0];
      assert.deepEqual(row, { who: 'reader', ro: 'on', st: '0' });
    } finally {
      await c.end();
    }
  });
});
