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
    // Dynamic SQL whose text is not known here (issue #14: a constant text, or one built from the call's constant arguments, is judged; see below).
    assert.deepEqual(await classes("CREATE FUNCTION d() RETURNS int LANGUAGE plpgsql AS $$ DECLARE q text := current_setting('app.q'); BEGIN EXECUTE q; RETURN 1; END $$; SELECT d()"), ['ddl', 'write']);
    assert.deepEqual(await classes("CREATE FUNCTION c() RETURNS int LANGUAGE c AS 'lib', 'sym'; SELECT c()"), ['ddl', 'write']);
    // One unknown overload taints the name.
    assert.deepEqual(
      await classes("CREATE FUNCTION o(int) RETURNS int LANGUAGE sql AS 'SELECT 1'; CREATE FUNCTION o(text) RETURNS int LANGUAGE sql AS 'DELETE FROM t RETURNING 1'; SELECT o(1)"),
      ['ddl', 'ddl', 'write'],
    );
    assert.deepEqual(await classes('SELECT f(1)'), ['write']);
  });

  it('dynamic SQL is judged when its text is known: constants and the call\'s constant arguments of parameters the body never changes', async () => {
    const estimate = `CREATE FUNCTION est(text) RETURNS TABLE (estimated int) LANGUAGE plpgsql AS $$
      DECLARE ln text; BEGIN FOR ln IN EXECUTE format('explain analyze %s', $1) LOOP RETURN QUERY SELECT 1; END LOOP; END $$`;
    assert.deepEqual(await classes(`${estimate}; SELECT * FROM est('SELECT a FROM t GROUP BY 1'); SELECT * FROM est('DELETE FROM t WHERE a = 1'); SELECT * FROM est(current_user)`), ['ddl', 'read', 'write', 'write']);
    const run = "CREATE FUNCTION run(q text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE q; END $$";
    assert.deepEqual(await classes(`${run}; SELECT run('select 1'); SELECT run('drop table t'); SELECT run('t'::regclass::text)`), ['ddl', 'read', 'write', 'write']);
    // The body gives the parameter a new value (directly, through an alias, INTO, or a declared shadow): the argument says nothing.
    for (const body of ["q := 'delete from t'; EXECUTE q;", "q = 'delete from t'; EXECUTE q;", "SELECT 'delete from t' INTO q; EXECUTE q;", 'GET DIAGNOSTICS q = ROW_COUNT; EXECUTE q;', "FOREACH q IN ARRAY ARRAY['delete from t'] LOOP EXECUTE q; END LOOP;", "FOR q IN SELECT 'delete from t' LOOP EXECUTE q; END LOOP;"]) {
      assert.deepEqual(await classes(`CREATE FUNCTION f(q text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN ${body} END $$; SELECT f('select 1')`), ['ddl', 'write'], body);
    }
    assert.deepEqual(await classes("CREATE FUNCTION f(q text) RETURNS void LANGUAGE plpgsql AS $$ DECLARE x ALIAS FOR $1; BEGIN x := 'delete from t'; EXECUTE q; END $$; SELECT f('select 1')"), ['ddl', 'write']);
    assert.deepEqual(await classes("CREATE FUNCTION f(q text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN DECLARE q text := 'delete from t'; BEGIN EXECUTE q; END; END $$; SELECT f('select 1')"), ['ddl', 'write']);
    assert.deepEqual(await classes("CREATE FUNCTION d() RETURNS int LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'select ' || quote_literal('x'); RETURN 1; END $$; SELECT d()"), ['ddl', 'read']);
    assert.deepEqual(await classes("CREATE FUNCTION d() RETURNS int LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('%1$s', 'delete from t'); RETURN 1; END $$; SELECT d()"), ['ddl', 'write']);
  });

  it('DO blocks and CALLs are judged by their PL/pgSQL, like routine bodies', async () => {
    assert.deepEqual(await classes("DO $$ BEGIN RAISE NOTICE 'x'; PERFORM 1; END $$"), ['read']);
    assert.deepEqual(await classes('DO $$ BEGIN PERFORM 1; END $$'), ['read']);
    assert.deepEqual(await classes("DO $$ BEGIN EXECUTE 'select 1'; END $$"), ['read']);
    assert.deepEqual(await classes("DO $$ BEGIN EXECUTE 'delete from t'; END $$"), ['write']);
    assert.deepEqual(await classes("DO $$ BEGIN PERFORM nextval('s'); END $$"), ['write']);
    assert.deepEqual(await classes('DO $$ BEGIN COMMIT; END $$'), ['write']);
    assert.deepEqual(await classes('CREATE TEMP TABLE tt (a int); DO $$ BEGIN INSERT INTO tt VALUES (1); END $$'), ['ddl', 'session']);
    assert.deepEqual(await classes("CREATE PROCEDURE p(a int) LANGUAGE sql AS 'SELECT a'; CALL p(1); CALL p(nextval('s')); CALL other()"), ['ddl', 'read', 'write', 'write']);
    assert.deepEqual(await classes("CREATE PROCEDURE w() LANGUAGE sql AS 'INSERT INTO t VALUES (1)'; CALL w()"), ['ddl', 'write']);
  });

  it('routine bodies see the temp tables of the input as they are at the call; aggregates are as read-only as their support functions', async () => {
    assert.deepEqual(await classes("CREATE TEMP TABLE tt (a int); CREATE FUNCTION ins() RETURNS void LANGUAGE sql AS 'INSERT INTO tt VALUES (1)'; SELECT ins(); DROP TABLE tt; SELECT ins()"), ['ddl', 'ddl', 'read', 'destructive', 'write']);
    assert.deepEqual(await classes("CREATE TEMP TABLE tt (a int); CREATE FUNCTION ins() RETURNS void LANGUAGE sql SET search_path = public AS 'INSERT INTO tt VALUES (1)'; SELECT ins()"), ['ddl', 'ddl', 'write']);
    assert.deepEqual(await classes("CREATE FUNCTION sf(a int, b int) RETURNS int LANGUAGE sql AS 'SELECT a + b'; CREATE AGGREGATE agg(int) (sfunc = sf, stype = int); SELECT agg(x) FROM t"), ['ddl', 'ddl', 'read']);
    assert.deepEqual(await classes("CREATE FUNCTION sw(a int, b int) RETURNS int LANGUAGE sql AS 'SELECT nextval(''s'')::int'; CREATE AGGREGATE agg(int) (sfunc = sw, stype = int); SELECT agg(x) FROM t"), ['ddl', 'ddl', 'write']);
    // A routine that calls itself is not followed forever.
    assert.deepEqual(await classes("CREATE FUNCTION r(n int) RETURNS int LANGUAGE sql AS 'SELECT r(n - 1)'; SELECT r(3)"), ['ddl', 'write']);
    assert.deepEqual(await classes('CREATE AGGREGATE a(int) (sfunc = a, stype = int); SELECT a(x) FROM t'), ['ddl', 'write']);
  });

  it('identity: back to the login, or to a role created in this input, is session; any other switch is privilege', async () => {
    assert.deepEqual(await classes('RESET ROLE; SET ROLE NONE; RESET SESSION AUTHORIZATION; SET SESSION AUTHORIZATION DEFAULT'), ['session', 'session', 'session', 'session']);
    assert.deepEqual(await classes('SET ROLE admin; SET SESSION AUTHORIZATION admin; SET LOCAL ROLE admin'), ['privilege', 'privilege', 'privilege']);
    assert.deepEqual(await classes('CREATE ROLE tester; SET ROLE tester; SET SESSION AUTHORIZATION tester; ALTER ROLE tester RENAME TO t2; SET ROLE tester; SET ROLE t2; DROP ROLE t2; SET ROLE t2'), [
      'privilege', 'session', 'session', 'destructive', 'privilege', 'session', 'destructive', 'privilege',
    ]);
  });

  it('LOCK in ACCESS SHARE mode, row_security off and reading large objects are reads; stronger locks and large-object writes are not', async () => {
    assert.deepEqual(await classes('LOCK t IN ACCESS SHARE MODE; LOCK t IN ROW SHARE MODE; LOCK t'), ['read', 'write', 'write']);
    assert.deepEqual(await classes('SET row_security = off; SET row_security = on'), ['session', 'session']);
    assert.deepEqual(await classes('SELECT lo_get(1), lo_get(1, 0, 10); SELECT loread(3, 10), lo_tell(3), lo_lseek(3, 0, 0), lo_close(3)'), ['read', 'read']);
    // lo_open stays a write whatever its mode: a verdict hanging on a constant would be shared through the gateway's shape cache.
    assert.deepEqual(await classes("SELECT loread(lo_open(1, 262144), 10); SELECT lo_open(1, x'20000'::int); SELECT lowrite(3, 'x'); SELECT lo_put(1, 0, 'x')"), ['write', 'write', 'write', 'write']);
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

  it('RESET ROLE and RESET SESSION AUTHORIZATION return to the connection\'s starting identity; row_security off shows no hidden row', async () => {
    const admin = await connect(cluster().url());
    await admin.query(`CREATE ROLE starter NOLOGIN; CREATE ROLE other NOLOGIN; GRANT starter, other TO postgres;
      CREATE TABLE rls_t (owner_name text); INSERT INTO rls_t VALUES ('starter'), ('other');
      ALTER TABLE rls_t ENABLE ROW LEVEL SECURITY; CREATE POLICY mine ON rls_t USING (owner_name = current_user); GRANT SELECT ON rls_t TO starter`);
    await admin.end();
    const url = new URL(cluster().url());
    url.searchParams.set('options', '-c role=starter');
    const c = await connect(url.toString());
    try {
      await c.query('SET ROLE other');
      await c.query('RESET ROLE');
      assert.equal((await c.query('SELECT current_user AS u')).rows[0].u, 'starter');
      await c.query('SET SESSION AUTHORIZATION other');
      await c.query('RESET SESSION AUTHORIZATION');
      assert.equal((await c.query('SELECT session_user AS u')).rows[0].u, 'postgres');
      await c.query('SET ROLE starter');
      assert.deepEqual((await c.query('SELECT owner_name FROM rls_t')).rows, [{ owner_name: 'starter' }]);
      await c.query('SET row_security = off');
      await assert.rejects(c.query('SELECT owner_name FROM rls_t'), /row-level security/);
    } finally {
      await c.end();
    }
  });

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
