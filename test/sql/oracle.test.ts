/**
 * THE ORACLE: PostgreSQL itself checks the classifier. Every corpus statement the classifier
 * calls `read` runs inside `BEGIN TRANSACTION READ ONLY` on a real server; if PostgreSQL ever
 * answers SQLSTATE 25006 (read_only_sql_transaction), the classifier leaked a write. The target,
 * and the assertion, is zero leaks. Non-read statements run the same way to count false alarms
 * (PostgreSQL accepted them read-only, the classifier said otherwise) — reported, not asserted,
 * because some are deliberate (advisory locks, LISTEN, SET ROLE are accepted read-only but are
 * not reads). Set PRODGUARD_ORACLE_REPORT=<file> to write the numbers as JSON.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { sharedCluster } from '../helpers/pg.js';
import { connect } from '../../src/pg/client.js';
import { classifySync, loadSqlParser, type ClassifiedStatement } from '../../src/sql/index.js';
import { collectFacts } from '../../src/sql/facts.js';
import { parseStatements } from '../../src/sql/parser.js';
import { loadCorpus, corpusSources } from './corpus.js';

/** Objects most statements need: regression-style tenk1/onek, plus the tricky fixtures' targets. */
const SETUP = `
CREATE TABLE tenk1 (unique1 int, unique2 int, two int, four int, ten int, twenty int, hundred int, thousand int,
  twothousand int, fivethous int, tenthous int, odd int, even int, stringu1 name, stringu2 name, string4 name);
INSERT INTO tenk1 SELECT i, 9999 - i, i % 2, i % 4, i % 10, i % 20, i % 100, i % 1000, i % 2000, i % 5000, i % 10000,
  (i % 100) * 2 + 1, (i % 100) * 2, 'A' || i, 'B' || i, (ARRAY['AAAA','HHHH','OOOO','VVVV'])[i % 4 + 1] FROM generate_series(0, 9999) i;
CREATE TABLE onek AS SELECT * FROM tenk1 WHERE unique1 < 1000;
CREATE TABLE tenk2 AS SELECT * FROM tenk1;
CREATE INDEX ON tenk1 (unique1); CREATE INDEX ON onek (unique1);
ANALYZE tenk1; ANALYZE onek;
CREATE SEQUENCE tricky_seq;
CREATE TABLE tricky_log (x int PRIMARY KEY);
CREATE FUNCTION tricky_fn(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO tricky_log VALUES (i); RETURN i; END $$;
CREATE FUNCTION tricky_srf() RETURNS SETOF int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO tricky_log VALUES (99); RETURN NEXT 1; END $$;
CREATE PROCEDURE tricky_proc() LANGUAGE sql AS $$ INSERT INTO tricky_log VALUES (7) $$;
CREATE MATERIALIZED VIEW tricky_mv AS SELECT 1 AS a;
-- Tables the PostgreSQL documentation's examples query (tutorial, window functions, SELECT pages).
CREATE TABLE cities (name varchar(80), location point, population real, elevation int, state char(2));
CREATE TABLE weather (city varchar(80), temp_lo int, temp_hi int, prcp real, date date);
INSERT INTO cities VALUES ('San Francisco', '(-194.0, 53.0)', 700000, 63, 'CA');
INSERT INTO weather VALUES ('San Francisco', 46, 50, 0.25, '1994-11-27'), ('Hayward', 37, 54, NULL, '1994-11-29');
CREATE TABLE empsalary (depname varchar, empno bigint, salary int, enroll_date date);
INSERT INTO empsalary VALUES ('develop', 10, 5200, '2007-08-01'), ('sales', 1, 5000, '2006-10-01');
CREATE TABLE films (code char(5), title varchar(40), did int, date_prod date, kind varchar(10), len interval hour to minute);
CREATE TABLE distributors (did int, name varchar(40));
CREATE TABLE tab (a int, b int, c int, x int, y int);
CREATE TABLE table1 (id int, a int, b int, c int, name text);
CREATE TABLE t1 (a int, b int, c int, num int, name text);
CREATE TABLE t3 (a int, b int, c int);
`;

/** Never executed, even on a throw-away cluster: they act outside the transaction or on the host. */
const NEVER_RUN_FUNCTIONS = new Set(['pg_terminate_backend', 'pg_cancel_backend', 'pg_promote', 'lo_export', 'lo_import', 'pg_file_write', 'pg_file_unlink', 'pg_file_rename', 'pg_sleep', 'pg_sleep_for', 'pg_sleep_until', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_switch_wal', 'dblink_exec', 'dblink']);
function unsafeToRun(sql: string): boolean {
  const [s] = parseStatements(sql);
  if (!s) return true;
  if (s.kind === 'TransactionStmt' || s.kind === 'LoadStmt') return true;
  if (s.kind === 'CopyStmt' && (s.node.is_program || s.node.filename || s.node.is_from)) return true;
  return collectFacts(s.node).functions.some((p) => NEVER_RUN_FUNCTIONS.has(p[p.length - 1].toLowerCase()));
}

interface Outcome {
  ok: boolean;
  code?: string;
  message?: string;
}

describe('oracle: PostgreSQL confirms every statement classified read is read-only', () => {
  const cluster = sharedCluster();

  it('classifies a corpus of at least 2,000 real statements and no read leaks a write (SQLSTATE 25006)', { timeout: 300_000 }, async (t) => {
    await loadSqlParser();
    const corpus = await loadCorpus();
    assert.ok(corpus.length >= 2000, `corpus has only ${corpus.length} statements; is postgresql-doc installed? sources: ${JSON.stringify(corpusSources())}`);

    const classified: Array<{ sql: string; source: string; c: ClassifiedStatement }> = [];
    for (const s of corpus) {
      const [c] = classifySync(s.sql);
      if (c) classified.push({ sql: s.sql, source: s.source, c });
    }
    const url = cluster().url();
    const client = await connect(url);
    const errors: string[] = [];
    client.on('error', (e) => errors.push(String(e)));
    try {
      await client.query(`SET client_min_messages = error; SET statement_timeout = '1s'; SET lock_timeout = '500ms'`);
      await client.query(SETUP);
      // Create what the documentation's examples create (their DDL and inserts, in order), so
      // their queries meet real tables. Failures are expected and ignored here.
      let setupRan = 0;
      for (const x of classified) {
        if ((x.c.class === 'ddl' || x.c.class === 'write') && x.c.kind !== 'CopyStmt' && !unsafeToRun(x.sql)) {
          setupRan++;
          await client.query(x.sql).catch(() => undefined);
        }
      }
      await client.query(`SET client_min_messages = error; SET statement_timeout = '1s'; SET lock_timeout = '500ms'; RESET ROLE`);

      const runReadOnly = async (sql: string): Promise<Outcome> => {
        await client.query('BEGIN TRANSACTION READ ONLY');
        await client.query('SAVEPOINT oracle');
        try {
          await client.query(sql);
          return { ok: true };
        } catch (e) {
          const err = e as { code?: string; message?: string };
          return { ok: false, code: err.code, message: err.message };
        } finally {
          await client.query('ROLLBACK');
        }
      };

      const reads = classified.filter((x) => x.c.class === 'read' && !unsafeToRun(x.sql));
      const leaks: Array<{ sql: string; source: string; message?: string }> = [];
      let readsOk = 0;
      const readErrors: Record<string, number> = {};
      const missing: Record<string, number> = {};
      for (const x of reads) {
        const o = await runReadOnly(x.sql);
        if (o.ok) readsOk++;
        else if (o.code === '25006') leaks.push({ sql: x.sql, source: x.source, message: o.message });
        else {
          readErrors[o.code ?? '?'] = (readErrors[o.code ?? '?'] ?? 0) + 1;
          if (o.code === '42P01') missing[o.message ?? ''] = (missing[o.message ?? ''] ?? 0) + 1;
        }
      }

      const nonReads = classified.filter((x) => x.c.class !== 'read' && !unsafeToRun(x.sql));
      const falseAlarms: Record<string, number> = {};
      const falseAlarmKinds: Record<string, number> = {};
      const falseAlarmSamples: string[] = [];
      let refused = 0;
      let otherErrors = 0;
      for (const x of nonReads) {
        const o = await runReadOnly(x.sql);
        if (o.ok) {
          falseAlarms[x.c.class] = (falseAlarms[x.c.class] ?? 0) + 1;
          falseAlarmKinds[x.c.kind] = (falseAlarmKinds[x.c.kind] ?? 0) + 1;
          falseAlarmSamples.push(`${x.c.class}: ${x.sql.slice(0, 160)}`);
        } else if (o.code === '25006') refused++;
        else otherErrors++;
      }
      const falseAlarmTotal = Object.values(falseAlarms).reduce((a, b) => a + b, 0);
      const report = {
        corpus: corpus.length,
        bySource: corpus.reduce<Record<string, number>>((acc, s) => ((acc[s.source.split(':')[0]] = (acc[s.source.split(':')[0]] ?? 0) + 1), acc), {}),
        byClass: classified.reduce<Record<string, number>>((acc, x) => ((acc[x.c.class] = (acc[x.c.class] ?? 0) + 1), acc), {}),
        setupStatementsRun: setupRan,
        reads: { executed: reads.length, succeeded: readsOk, leaks: leaks.length, otherErrors: readErrors },
        nonReads: { executed: nonReads.length, refusedReadOnly: refused, otherErrors, acceptedReadOnly: falseAlarmTotal, acceptedByClass: falseAlarms, acceptedByKind: falseAlarmKinds },
      };
      t.diagnostic(JSON.stringify(report));
      if (process.env.PRODGUARD_ORACLE_REPORT) writeFileSync(process.env.PRODGUARD_ORACLE_REPORT, JSON.stringify({ ...report, leakSamples: leaks.slice(0, 20), falseAlarmSamples, missingRelations: missing }, null, 2));
      assert.deepEqual(leaks, [], `${leaks.length} statement(s) classified read were refused by a read-only transaction`);
      assert.ok(readsOk >= 200, `only ${readsOk} read statements actually ran; the oracle would prove little`);
    } finally {
      await client.end().catch(() => undefined);
    }
  });
});
