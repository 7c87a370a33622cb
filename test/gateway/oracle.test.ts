/**
 * THE GATEWAY ORACLE: PostgreSQL's own documentation SQL, extension scripts and tricky fixtures
 * (test/sql/corpus.ts, over 2,000 statements) plus writes hidden in functions, rules, COPY …
 * PROGRAM, large objects, set_config, pg_terminate_backend and friends are sent through the
 * gateway as a read-only user — every statement once over the simple and once over the extended
 * protocol. A checksum of the database's data and catalog (sequences, large objects, roles,
 * settings included) taken directly before and after must not change, no hidden write may be
 * let through, and nothing may reach the host (COPY … PROGRAM) or another session.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import pg from 'pg';
import { sharedCluster } from '../helpers/pg.js';
import { connect } from '../../src/pg/client.js';
import { loadSqlParser } from '../../src/sql/parser.js';
import { loadCorpus } from '../sql/corpus.js';
import { gatewayFixture, type GatewayFixture } from './fixture.js';

const MARKER_FILE = `/tmp/prodguard-gateway-oracle-${process.pid}`;

const SETUP = `
CREATE TABLE tenk1 (unique1 int, unique2 int, two int, four int, ten int, twenty int, hundred int, thousand int,
  twothousand int, fivethous int, tenthous int, odd int, even int, stringu1 name, stringu2 name, string4 name);
INSERT INTO tenk1 SELECT i, 9999 - i, i % 2, i % 4, i % 10, i % 20, i % 100, i % 1000, i % 2000, i % 5000, i % 10000,
  (i % 100) * 2 + 1, (i % 100) * 2, 'A' || i, 'B' || i, (ARRAY['AAAA','HHHH','OOOO','VVVV'])[i % 4 + 1] FROM generate_series(0, 999) i;
CREATE TABLE onek AS SELECT * FROM tenk1;
CREATE SEQUENCE tricky_seq;
CREATE TABLE tricky_log (x int PRIMARY KEY);
CREATE FUNCTION tricky_fn(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO tricky_log VALUES (i); RETURN i; END $$;
CREATE FUNCTION tricky_srf() RETURNS SETOF int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO tricky_log VALUES (99); RETURN NEXT 1; END $$;
CREATE FUNCTION innocent_looking(int) RETURNS int LANGUAGE sql AS $$ DELETE FROM tricky_log; SELECT $1 $$;
CREATE PROCEDURE tricky_proc() LANGUAGE sql AS $$ INSERT INTO tricky_log VALUES (7) $$;
CREATE MATERIALIZED VIEW tricky_mv AS SELECT 1 AS a;
CREATE TABLE ruled (x int);
CREATE VIEW ruled_view AS SELECT x FROM ruled;
CREATE RULE ruled_ins AS ON INSERT TO ruled_view DO INSTEAD INSERT INTO tricky_log VALUES (new.x);
CREATE VIEW writes_when_read AS SELECT innocent_looking(1) AS y;
CREATE TABLE cities (name varchar(80), location point, population real, elevation int, state char(2));
CREATE TABLE weather (city varchar(80), temp_lo int, temp_hi int, prcp real, date date);
INSERT INTO weather VALUES ('San Francisco', 46, 50, 0.25, '1994-11-27');
CREATE TABLE films (code char(5), title varchar(40), did int, date_prod date, kind varchar(10), len interval hour to minute);
CREATE TABLE distributors (did int, name varchar(40));
SELECT lo_from_bytea(424242, 'large object content');
`;

/** Writes that hide behind something that looks like a read, or that escape the transaction. */
const HIDDEN_WRITES = [
  'SELECT tricky_fn(1)',
  'SELECT * FROM tricky_srf()',
  'SELECT innocent_looking(5)',
  'SELECT * FROM writes_when_read',
  'SELECT y FROM writes_when_read WHERE y > 0',
  'WITH d AS (DELETE FROM tenk1 WHERE unique1 < 5 RETURNING 1) SELECT count(*) FROM d',
  'INSERT INTO ruled_view VALUES (1)',
  `COPY (SELECT 1) TO PROGRAM 'touch ${MARKER_FILE}'`,
  `COPY tricky_log FROM PROGRAM 'echo 5'`,
  `COPY tenk1 TO '${MARKER_FILE}'`,
  'SELECT lo_create(0)',
  "SELECT lo_from_bytea(0, 'x')",
  'SELECT lo_unlink(424242)',
  "SELECT lo_put(424242, 0, 'overwritten')",
  "SELECT lo_import('/etc/hostname')",
  `SELECT lo_export(424242, '${MARKER_FILE}')`,
  'SELECT lowrite(lo_open(424242, 131072), \'x\')',
  "SELECT set_config('default_transaction_read_only', 'off', false)",
  "SELECT set_config('search_path', 'evil', false)",
  "SELECT pg_catalog.set_config('role', 'postgres', true)",
  'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()',
  'SELECT pg_cancel_backend(pid) FROM pg_stat_activity',
  "SELECT nextval('tricky_seq')",
  "SELECT setval('tricky_seq', 1000)",
  'SELECT pg_advisory_lock(1)',
  'SELECT txid_current()',
  'SELECT pg_reload_conf()',
  'SELECT pg_switch_wal()',
  "SELECT pg_stat_reset()",
  'SELECT * FROM tenk1 FOR UPDATE',
  'SELECT * INTO stolen FROM tenk1',
  'CREATE TABLE stolen AS SELECT * FROM tenk1',
  'EXPLAIN ANALYZE DELETE FROM tenk1',
  'EXPLAIN ANALYZE SELECT tricky_fn(2)',
  'CALL tricky_proc()',
  "DO $$ BEGIN DELETE FROM tenk1; END $$",
  'PREPARE p1 AS DELETE FROM tenk1',
  'EXECUTE p1',
  'DECLARE c CURSOR FOR SELECT tricky_fn(3)',
  'BEGIN READ WRITE',
  'START TRANSACTION READ WRITE',
  'SET TRANSACTION READ WRITE',
  'SET default_transaction_read_only = off',
  'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE',
  'RESET default_transaction_read_only',
  'RESET ALL',
  'DISCARD ALL',
  'SET ROLE postgres',
  'SET SESSION AUTHORIZATION postgres',
  "SET session_replication_role = replica",
  'ALTER SYSTEM SET work_mem = 1',
  "ALTER DATABASE gwo_prod SET default_transaction_read_only = off",
  'ALTER ROLE ALL SET default_transaction_read_only = off',
  'REFRESH MATERIALIZED VIEW tricky_mv',
  'VACUUM tenk1',
  'ANALYZE tenk1',
  'CHECKPOINT',
  "NOTIFY chan, 'x'",
  'LISTEN chan',
  'LOCK TABLE tenk1',
  'TRUNCATE tenk1',
  'DELETE FROM tenk1',
  'UPDATE tenk1 SET two = 3 WHERE unique1 = 1',
  "INSERT INTO tricky_log VALUES (1)",
  'DROP TABLE tenk1',
  'ALTER TABLE tenk1 DROP COLUMN two',
  'GRANT ALL ON tenk1 TO PUBLIC',
  'CREATE ROLE intruder SUPERUSER LOGIN',
  'CREATE EXTENSION IF NOT EXISTS dblink',
  'PREPARE TRANSACTION \'x\'',
  'SELECT pg_catalog.pg_sleep(0) FROM tenk1, LATERAL tricky_fn(unique1) f',
];

/** Data and catalog, from a superuser connection straight to the server. */
const CHECKSUM_QUERIES: Record<string, string> = {
  tables: `SELECT string_agg(format('%I.%I', n.nspname, c.relname), ',' ORDER BY n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`,
  columns: `SELECT md5(string_agg(format('%s.%s:%s:%s:%s', attrelid, attname, atttypid, attnotnull, attisdropped), ',' ORDER BY attrelid, attnum)) FROM pg_attribute WHERE attrelid >= 16384`,
  functions: `SELECT md5(string_agg(format('%s:%s:%s:%s', oid, proname, prosrc, proowner), ',' ORDER BY oid)) FROM pg_proc WHERE oid >= 16384`,
  roles: `SELECT md5(string_agg(format('%s:%s:%s:%s:%s', rolname, rolsuper, rolcanlogin, rolcreaterole, rolconnlimit), ',' ORDER BY rolname)) FROM pg_roles`,
  roleSettings: `SELECT md5(coalesce(string_agg(format('%s:%s:%s', setdatabase, setrole, setconfig), ',' ORDER BY setdatabase, setrole), '')) FROM pg_db_role_setting`,
  acl: `SELECT md5(string_agg(format('%s:%s:%s', oid, relacl, relowner), ',' ORDER BY oid)) FROM pg_class WHERE oid >= 16384`,
  triggersRules: `SELECT md5(coalesce((SELECT string_agg(format('%s:%s:%s', tgrelid, tgname, tgenabled), ',' ORDER BY tgrelid, tgname) FROM pg_trigger WHERE NOT tgisinternal), '') || coalesce((SELECT string_agg(format('%s:%s', ev_class, rulename), ',' ORDER BY ev_class, rulename) FROM pg_rewrite WHERE ev_class >= 16384), ''))`,
  extensions: `SELECT string_agg(extname || ':' || extversion, ',' ORDER BY extname) FROM pg_extension`,
  largeObjects: `SELECT md5(coalesce(string_agg(format('%s:%s:%s', loid, pageno, md5(data)), ',' ORDER BY loid, pageno), '')) FROM pg_largeobject`,
  sequences: `SELECT string_agg(format('%s:%s:%s', schemaname, sequencename, last_value), ',' ORDER BY schemaname, sequencename) FROM pg_sequences`,
  autoSettings: `SELECT md5(coalesce(string_agg(name || '=' || setting, ',' ORDER BY name), '')) FROM pg_settings WHERE source IN ('configuration file', 'database', 'user', 'database user')`,
  preparedXacts: `SELECT count(*)::text FROM pg_prepared_xacts`,
};

async function checksum(url: string): Promise<Record<string, string>> {
  const c = await connect(url);
  try {
    const out: Record<string, string> = {};
    for (const [k, q] of Object.entries(CHECKSUM_QUERIES)) out[k] = String((await c.query(q)).rows[0][Object.keys((await c.query(q)).rows[0])[0]]);
    const tables = (await c.query(`SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1`)).rows as Array<{ t: string }>;
    for (const { t } of tables) {
      const r = await c.query(`SELECT count(*)::text || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') AS h FROM ${t} x`).catch((e) => ({ rows: [{ h: `error ${(e as Error).message}` }] }));
      out[`data:${t}`] = r.rows[0].h;
    }
    return out;
  } finally {
    await c.end();
  }
}

interface Tally {
  sent: number;
  allowed: number;
  refused: number;
  otherErrors: number;
  /** Allowed by the classifier but stopped by the upstream read-only session (second wall). */
  secondWall: string[];
}

describe('gateway oracle: 2,000+ statements as a read-only user change nothing', () => {
  const cluster = sharedCluster();
  let f: GatewayFixture;
  before(async () => {
    f = await gatewayFixture(cluster(), 'gwo', { statementTimeout: '2s' }, SETUP);
  });
  after(async () => {
    await f?.stop();
    rmSync(MARKER_FILE, { force: true });
  });

  it('sends the corpus and the hidden writes over both protocols; data and catalog checksums are unchanged', { timeout: 600_000 }, async (t) => {
    await loadSqlParser();
    const corpus = (await loadCorpus()).map((s) => s.sql);
    // Let the documentation's queries meet real tables: run the corpus' own DDL directly first.
    const admin = await connect(f.prodUrl);
    await admin.query(`SET client_min_messages = error; SET statement_timeout = '1s'`);
    for (const s of corpus) {
      if (/^\s*(CREATE|INSERT)\b/i.test(s) && !/\b(PROGRAM|ROLE|USER|EVENT|DATABASE|SUBSCRIPTION|PUBLICATION|TABLESPACE|SERVER|EXTENSION|LANGUAGE)\b/i.test(s)) await admin.query(s).catch(() => undefined);
    }
    const sentinel = await connect(f.prodUrl);
    const sentinelPid = (await sentinel.query('SELECT pg_backend_pid() AS p')).rows[0].p as number;
    await admin.end();

    const before = await checksum(f.prodUrl);
    const statements = [...corpus, ...HIDDEN_WRITES];
    const tallies: Record<string, Tally> = {};
    const hiddenLetThrough: string[] = [];
    for (const mode of ['simple', 'extended'] as const) {
      const tally: Tally = { sent: 0, allowed: 0, refused: 0, otherErrors: 0, secondWall: [] };
      tallies[mode] = tally;
      let c: pg.Client | null = null;
      const fresh = async () => {
        await c?.end().catch(() => undefined);
        c = new pg.Client({ connectionString: f.url('dave').replace(/\?.*/, ''), ssl: { rejectUnauthorized: false } });
        c.on('error', () => undefined);
        await c.connect();
        await c.query("SET statement_timeout = '1s'");
      };
      await fresh();
      for (const text of statements) {
        tally.sent++;
        try {
          await c!.query(mode === 'simple' ? text : { text, values: [], queryMode: 'extended' } as pg.QueryConfig);
          tally.allowed++;
          if (HIDDEN_WRITES.includes(text)) hiddenLetThrough.push(`${mode}: ${text}`);
        } catch (e) {
          const err = e as { code?: string; message?: string };
          if (/^prodguard gateway: /.test(err.message ?? '')) tally.refused++;
          else {
            tally.otherErrors++;
            if (err.code === '25006') tally.secondWall.push(text.slice(0, 200));
          }
          if (!err.code || err.code === '57P01' || err.code === '08006') await fresh();
        }
        // An aborted transaction (a corpus BEGIN followed by an error) must not swallow the rest.
        await c!.query('ROLLBACK').catch(() => undefined);
      }
      await c!.end().catch(() => undefined);
    }
    const after = await checksum(f.prodUrl);
    const sentinelAlive = await sentinel.query('SELECT pg_backend_pid() AS p').then((r) => (r.rows[0].p === sentinelPid ? true : `pid ${r.rows[0].p} != ${sentinelPid}`), (e: Error) => e.message);
    await sentinel.end().catch(() => undefined);
    f.gateway.flushAudit();
    t.diagnostic(JSON.stringify({ corpus: corpus.length, hidden: HIDDEN_WRITES.length, tallies }));

    assert.ok(corpus.length >= 2000, `corpus has only ${corpus.length} statements`);
    for (const mode of ['simple', 'extended']) {
      assert.ok(tallies[mode].sent >= 2000, `${mode}: only ${tallies[mode].sent} statements sent`);
      assert.ok(tallies[mode].allowed >= 200, `${mode}: only ${tallies[mode].allowed} statements ran; the oracle would prove little`);
      assert.ok(tallies[mode].refused >= 200, `${mode}: only ${tallies[mode].refused} refusals`);
    }
    assert.deepEqual(hiddenLetThrough, [], 'hidden writes let through by the gateway');
    const changed = Object.keys({ ...before, ...after }).filter((k) => before[k] !== after[k]);
    assert.deepEqual(changed, [], `checksums changed: ${changed.map((k) => `${k}: ${before[k]} → ${after[k]}`).join('; ')}`);
    assert.equal(existsSync(MARKER_FILE), false, 'COPY … PROGRAM / lo_export reached the host');
    assert.equal(sentinelAlive, true, 'another session was terminated');
  });
});
