/** The classifier's contract, one behaviour per test; the tricks from issue #3 each pinned. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classify, classifySync, loadSqlParser, SqlSyntaxError, worstClass, type StatementClass } from '../../src/sql/index.js';
import { UsageError } from '../../src/errors.js';

const cases: Array<[string, StatementClass]> = [
  // read: provable only
  ['SELECT count(*) FROM public.orders', 'read'],
  ['SELECT lower(name), coalesce(a, b), now(), jsonb_build_object(\'a\', 1) FROM t', 'read'],
  ['SELECT pg_size_pretty(pg_database_size(current_database())), version(), current_setting(\'work_mem\')', 'read'],
  ['VALUES (1), (2)', 'read'],
  ['TABLE orders', 'read'],
  ['SHOW search_path', 'read'],
  ['EXPLAIN SELECT * FROM t', 'read'],
  ['EXPLAIN DELETE FROM t', 'read'],
  ['EXPLAIN ANALYZE SELECT 1', 'read'],
  ['WITH x AS (SELECT 1) SELECT * FROM x', 'read'],
  ['COPY orders TO STDOUT', 'read'],
  ['SELECT pg_catalog.lower(\'X\')', 'read'],
  // not read: functions
  ['SELECT nextval(\'s\')', 'write'],
  ['SELECT setval(\'s\', 1)', 'write'],
  ['SELECT pg_advisory_lock(1)', 'write'],
  ['SELECT lo_unlink(42)', 'destructive'],
  ['SELECT dblink_exec(\'conn\', \'DELETE FROM t\')', 'write'],
  ['SELECT my_function()', 'write'],
  ['SELECT myschema.lower(\'x\')', 'write'],
  ['SELECT pg_reload_conf()', 'write'],
  // not passed on: catalogs holding credentials or the server's private configuration (red team ag-000/ag-001)
  ['SELECT subname, subconninfo FROM pg_subscription', 'privilege'],
  ['SELECT rolname, rolpassword FROM pg_catalog.pg_authid', 'privilege'],
  ['TABLE pg_shadow', 'privilege'],
  ['SELECT * FROM pg_user_mappings', 'privilege'],
  ['SELECT 1 WHERE EXISTS (SELECT 1 FROM pg_hba_file_rules)', 'privilege'],
  ['SELECT * FROM pg_file_settings', 'privilege'],
  ['COPY pg_authid TO STDOUT', 'privilege'],
  ['COPY (SELECT * FROM pg_shadow) TO STDOUT', 'privilege'],
  // the same catalogs by another spelling (red team w5d): a table named by an argument, statistics, information_schema
  ["SELECT table_to_xml('pg_authid', true, false, '')", 'privilege'],
  ["SELECT table_to_xml(1260, true, false, '')", 'privilege'],
  ["SELECT pg_catalog.table_to_xml_and_xmlschema('pg_subscription'::regclass, true, false, '')", 'privilege'],
  ["SELECT stavalues1 FROM pg_statistic WHERE starelid = 'pg_authid'::regclass", 'privilege'],
  ['SELECT * FROM information_schema._pg_user_mappings', 'privilege'],
  ['SELECT * FROM information_schema.user_mapping_options', 'privilege'],
  ['SELECT * FROM user_mapping_options', 'privilege'],
  ["SELECT table_to_xmlschema('customers', true, false, '')", 'read'],
  ['SELECT rolname FROM pg_roles', 'read'],
  ['SELECT * FROM public.pg_file_settings', 'read'],
  ['SELECT pg_terminate_backend(123)', 'destructive'],
  ['SELECT pg_cancel_backend(123)', 'destructive'],
  ['SELECT set_config(\'default_transaction_read_only\', \'off\', false)', 'privilege'],
  ['SELECT ts_stat(\'SELECT v FROM t\')', 'write'],
  ['SELECT ts_rewrite(\'a\'::tsquery, \'SELECT t, s FROM aliases\')', 'write'],
  ['SELECT query_to_xml(\'SELECT 1\', true, false, \'\')', 'write'],
  ['SELECT ts_rank(to_tsvector(\'a\'), to_tsquery(\'a\')), jsonb_path_exists(\'{}\', \'$.a\')', 'read'],
  ['EXPLAIN SELECT nextval(\'s\')', 'write'],
  // not read: statements
  ['WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) SELECT * FROM d', 'write'],
  ['WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d', 'destructive'],
  ['SELECT * FROM t FOR UPDATE', 'write'],
  ['SELECT * FROM t FOR SHARE', 'write'],
  ['SELECT * INTO t2 FROM t', 'write'],
  ['EXPLAIN ANALYZE DELETE FROM t WHERE id = 1', 'write'],
  ['EXPLAIN (ANALYZE) DELETE FROM t', 'destructive'],
  ['EXPLAIN (ANALYZE on, COSTS off) DELETE FROM t WHERE id = 1', 'write'],
  ['EXPLAIN (ANALYZE false) DELETE FROM t', 'read'],
  ['COPY (DELETE FROM t RETURNING *) TO STDOUT', 'destructive'],
  ['VALUES (nextval(\'s\'))', 'write'],
  ['PREPARE TRANSACTION \'tx1\'', 'write'],
  // issue #14: a DO block's PL/pgSQL is parsed and judged statement by statement (DO $$ BEGIN PERFORM 1; END $$ is read, classify-context.test.ts).
  ['DO $$ BEGIN DELETE FROM t WHERE id = 1; END $$', 'write'],
  ['DO $$ DECLARE q text := current_setting(\'x.q\'); BEGIN EXECUTE q; END $$', 'write'],
  ['DO LANGUAGE plperl $$ system("rm -rf /") $$', 'write'],
  ['CALL p()', 'write'],
  ['EXECUTE stmt', 'write'],
  ['PREPARE p AS INSERT INTO t VALUES (1)', 'write'],
  ['PREPARE p AS SELECT 1', 'read'],
  ['COPY t FROM STDIN', 'write'],
  ['COPY t TO \'/tmp/x\'', 'write'],
  ['COPY (SELECT 1) TO PROGRAM \'cat\'', 'write'],
  ['LISTEN ch', 'write'],
  ['NOTIFY ch', 'write'],
  ['LOCK TABLE t', 'write'],
  ['INSERT INTO t VALUES (1)', 'write'],
  ['UPDATE t SET a = 1 WHERE id = 2', 'write'],
  ['DELETE FROM t WHERE id = 2', 'write'],
  ['MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE', 'write'],
  ['VACUUM t', 'write'],
  ['REFRESH MATERIALIZED VIEW mv', 'write'],
  // destructive
  ['DELETE FROM orders', 'destructive'],
  ['UPDATE orders SET total = 0', 'destructive'],
  ['DROP TABLE orders', 'destructive'],
  ['DROP INDEX i', 'destructive'],
  ['DROP SCHEMA s CASCADE', 'destructive'],
  ['DROP DATABASE shop', 'destructive'],
  ['DROP FUNCTION f(int)', 'destructive'],
  ['TRUNCATE orders', 'destructive'],
  ['ALTER TABLE orders DROP COLUMN total', 'destructive'],
  ['ALTER TABLE orders ALTER COLUMN total TYPE bigint', 'destructive'],
  ['ALTER TABLE orders DROP CONSTRAINT orders_pkey', 'destructive'],
  ['ALTER TABLE orders RENAME TO orders_old', 'destructive'],
  ['ALTER TABLE orders RENAME COLUMN a TO b', 'destructive'],
  ['ALTER TABLE orders SET SCHEMA archive', 'destructive'],
  ['DROP ROLE alice', 'destructive'],
  ['DROP OWNED BY alice', 'destructive'],
  // ddl
  ['CREATE TABLE t (id bigint)', 'ddl'],
  ['ALTER TABLE t ADD COLUMN c int', 'ddl'],
  ['CREATE INDEX CONCURRENTLY i ON t (c)', 'ddl'],
  ['CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC DELETE FROM t; SELECT 1; END', 'ddl'],
  ['CREATE VIEW v AS SELECT nextval(\'s\')', 'ddl'],
  ['COMMENT ON TABLE t IS \'x\'', 'ddl'],
  ['CREATE EXTENSION pgcrypto', 'ddl'],
  // privilege
  ['GRANT SELECT ON t TO bob', 'privilege'],
  ['REVOKE ALL ON t FROM bob', 'privilege'],
  ['CREATE ROLE bob LOGIN', 'privilege'],
  ['CREATE USER bob', 'privilege'],
  ['ALTER ROLE bob SUPERUSER', 'privilege'],
  ['ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO bob', 'privilege'],
  ['ALTER TABLE t OWNER TO bob', 'privilege'],
  ['ALTER SYSTEM SET wal_level = minimal', 'privilege'],
  ['SET ROLE admin', 'privilege'],
  // issue #14: RESET ROLE / SET ROLE NONE return to the connection's own login (session, classify-context.test.ts); switching to any other role is privilege.
  ['SET ROLE "Admin"', 'privilege'],
  ['SET SESSION AUTHORIZATION admin', 'privilege'],
  ['SET default_transaction_read_only = off', 'privilege'],
  ['SET default_transaction_read_only TO false', 'privilege'],
  ['SET transaction_read_only = off', 'privilege'],
  ['SET TRANSACTION READ WRITE', 'privilege'],
  ['SET session_replication_role = replica', 'privilege'],
  ['SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE', 'privilege'],
  ['ALTER TABLE t DISABLE ROW LEVEL SECURITY', 'privilege'],
  ['SET LOCAL ROLE admin', 'privilege'],
  // issue #14: RESET ALL keeps role and session authorization (GUC_NO_RESET_ALL) and the read-only default the session started with; proven on a real server in classify-context.test.ts.
  ['RESET ALL', 'session'],
  ['DISCARD ALL', 'privilege'],
  ['ALTER DATABASE d SET default_transaction_read_only = off', 'privilege'],
  // session
  ['SET search_path = app, public', 'session'],
  ['SET LOCAL statement_timeout = \'5s\'', 'session'],
  ['SET default_transaction_read_only = on', 'session'],
  ['SET TRANSACTION READ ONLY', 'session'],
  ['BEGIN', 'session'],
  ['BEGIN READ WRITE', 'session'],
  ['START TRANSACTION READ WRITE', 'session'],
  ['COMMIT', 'session'],
  ['ROLLBACK', 'session'],
  ['SAVEPOINT a', 'session'],
  ['RELEASE SAVEPOINT a', 'session'],
  ['DISCARD PLANS', 'session'],
];

describe('classify', () => {
  for (const [sql, expected] of cases) {
    it(`classifies ${sql} as ${expected}`, async () => {
      const [s] = await classify(sql);
      assert.equal(s.class, expected, `${sql}: ${s.reason}`);
      assert.ok(s.reason.length > 5);
    });
  }

  it('returns one entry per statement with its text, kind and 1-based position', async () => {
    const sql = 'SELECT 1;\n  -- a comment\n  DELETE FROM orders;\nDROP TABLE x';
    const out = await classify(sql);
    assert.deepEqual(out.map((s) => [s.kind, s.text, s.line, s.column, s.class]), [
      ['SelectStmt', 'SELECT 1', 1, 1, 'read'],
      ['DeleteStmt', 'DELETE FROM orders', 3, 3, 'destructive'],
      ['DropStmt', 'DROP TABLE x', 4, 1, 'destructive'],
    ]);
    assert.equal(sql.slice(out[1].start, out[1].end), 'DELETE FROM orders');
  });

  it('counts positions in characters, not UTF-8 bytes', async () => {
    const sql = "SELECT 'héllo €';\nDROP TABLE ünïcode";
    const out = await classify(sql);
    assert.equal(out[1].text, 'DROP TABLE ünïcode');
    assert.equal(sql.slice(out[1].start, out[1].end), 'DROP TABLE ünïcode');
    assert.deepEqual([out[1].line, out[1].column], [2, 1]);
  });

  it('names the objects a statement touches', async () => {
    const [del] = await classify('DELETE FROM public.orders WHERE id IN (SELECT order_id FROM items)');
    assert.deepEqual(del.objects.sort(), ['table items', 'table public.orders']);
    const [fn] = await classify("SELECT nextval('s')");
    assert.deepEqual(fn.objects, ['function nextval']);
    const [drop] = await classify('DROP TABLE a, b.c');
    assert.deepEqual(drop.objects, ['table a', 'table b.c']);
  });

  it('says why in the reason', async () => {
    const [s] = await classify('DELETE FROM orders');
    assert.match(s.reason, /DELETE without WHERE on orders/);
    const [r] = await classify('ALTER TABLE users RENAME TO accounts');
    assert.match(r.reason, /breaks/);
  });

  it('throws SqlSyntaxError with the position of unparseable SQL (a UsageError, exit 2)', async () => {
    await assert.rejects(classify('SELECT 1;\nSELEC 2'), (e: unknown) => {
      assert.ok(e instanceof SqlSyntaxError);
      assert.ok(e instanceof UsageError);
      assert.equal(e.exitCode, 2);
      assert.deepEqual([e.line, e.column, e.position], [2, 1, 10]);
      assert.match(e.message, /syntax error at or near "SELEC" at line 2, column 1/);
      return true;
    });
  });

  it('returns nothing for empty input or comments only', async () => {
    assert.deepEqual(await classify(''), []);
    assert.deepEqual(await classify('-- nothing\n/* here */ ;'), []);
  });

  it('classifySync works once the parser is loaded', async () => {
    await loadSqlParser();
    await loadSqlParser();
    assert.equal(classifySync('TRUNCATE t')[0].class, 'destructive');
  });

  it('worstClass orders destructive > privilege > ddl > write > session > read, [] is read', async () => {
    assert.equal(worstClass([]), 'read');
    assert.equal(worstClass(await classify('SELECT 1; SET x = 1')), 'session');
    assert.equal(worstClass(await classify('SELECT 1; INSERT INTO t VALUES (1)')), 'write');
    assert.equal(worstClass(await classify('INSERT INTO t VALUES (1); CREATE TABLE u ()')), 'ddl');
    assert.equal(worstClass(await classify('CREATE TABLE u (); GRANT ALL ON u TO bob')), 'privilege');
    assert.equal(worstClass(await classify('GRANT ALL ON u TO bob; DROP TABLE u; SELECT 1')), 'destructive');
  });
});
