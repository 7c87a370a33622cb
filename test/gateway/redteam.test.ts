/**
 * The outside red team's findings against the gateway (/work/redteam/gw, cases named by id), each
 * reproduced against a real cluster with the red team's schema and their exact bytes: the lexer
 * desync (client encoding, standard_conforming_strings, backslash_quote), secrets in the audit,
 * the statement size limit and authentication timeout, the safety-limit settings and the shape
 * cache. The upstream role is a superuser, as in their setup, so the server refuses nothing the
 * gateway lets through.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as netConnect, type Socket } from 'node:net';
import pg from 'pg';
import { sharedCluster } from '../helpers/pg.js';
import { gatewayFixture, type GatewayFixture } from './fixture.js';
import { REDTEAM_SETUP, RawSession, checksum, psql } from './redteam-shared.js';

const cat = (...a: Array<Buffer | string>): Buffer => Buffer.concat(a.map((x) => (Buffer.isBuffer(x) ? x : Buffer.from(x, 'latin1'))));
const SJIS = Buffer.from([0x95, 0x5c]);
const BIG5 = Buffer.from([0xa5, 0x5c]);

async function client(f: GatewayFixture): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: f.url('dave', 'disable').replace(/\?sslmode=\w+/, ''), ssl: false, connectionTimeoutMillis: 5000 });
  c.on('error', () => {});
  await c.connect();
  return c;
}

async function outcome(c: pg.Client, text: string): Promise<string> {
  try {
    await c.query(text);
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? 'error';
  }
}

describe('gateway: red-team findings', () => {
  const cluster = sharedCluster();
  let f: GatewayFixture;
  let db: string;
  let tmp: string;
  before(async () => {
    f = await gatewayFixture(cluster(), 'rtg', { requireTls: false, authenticationTimeout: '1500ms', maxUnauthenticatedConnections: 4 }, REDTEAM_SETUP);
    db = new URL(f.prodUrl).pathname.slice(1);
    tmp = mkdtempSync(join(tmpdir(), 'rtg-'));
  });
  after(async () => {
    await f?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('gw-025/gw-367/gw-193/gw-336: standard_conforming_strings and backslash_quote cannot be changed, so the backslash trick runs as the gateway read it', async () => {
    const before = await checksum(f.prodUrl);
    const c = await client(f);
    for (const s of [
      'SET standard_conforming_strings = off', 'SET LOCAL standard_conforming_strings = off', 'SET SESSION standard_conforming_strings TO false',
      "SET standard_conforming_strings = 'of'", 'SET standard_conforming_strings = 0', 'SET "standard_conforming_strings" = off',
      'SET backslash_quote = on', 'SET backslash_quote = safe_encoding', "SELECT set_config('standard_conforming_strings', 'off', false)",
      "SELECT set_config('backslash_quote', 'on', false)",
    ]) assert.notEqual(await outcome(c, s), 'ok', s);
    assert.equal(await outcome(c, 'SET standard_conforming_strings = on'), 'ok');
    assert.equal(await outcome(c, 'RESET standard_conforming_strings'), 'ok');
    assert.equal((await c.query('SHOW standard_conforming_strings')).rows[0].standard_conforming_strings, 'on');
    // gw-367's statement: to a server with scs on it is the one SELECT the gateway saw.
    await outcome(c, "SELECT 'a\\', $q$'; COMMIT; BEGIN READ WRITE; UPDATE customers SET balance = -999 WHERE id = 1; COMMIT; --$q$");
    await c.end();
    // gw-367 exactly as the red team ran it, with psql.
    const url = f.url('dave', 'disable');
    const r = await psql([url, '-c', 'SET standard_conforming_strings = off', '-c', "SELECT 'a\\', $q$'; COMMIT; BEGIN READ WRITE; UPDATE customers SET balance = -999 WHERE id = 1; COMMIT; --$q$"]);
    assert.match(r.stderr, /standard_conforming_strings/);
    // gw-193 over the raw protocol: the hidden set_config never runs, v_bump stays refused by the server.
    const s = await RawSession.open(f.port, db);
    assert.ok((await s.query('SET standard_conforming_strings = off')).error);
    await s.query("SELECT 'a\\', $q$'; SELECT set_config($$default_transaction_read_only$$, $$off$$, false); --$q$");
    assert.ok((await s.query('SELECT * FROM v_bump')).error);
    s.close();
    assert.equal(await checksum(f.prodUrl), before);
  });

  it('gw-024/gw-192/gw-194/gw-294/gw-340/gw-341: client_encoding and SET NAMES stay UTF8; non-UTF-8 bytes are refused over both protocols', async () => {
    const before = await checksum(f.prodUrl);
    const s = await RawSession.open(f.port, db);
    for (const q of ["SET client_encoding = 'SJIS'", "SET NAMES 'SJIS'", "SET LOCAL client_encoding TO 'GBK'", "SET SESSION client_encoding = 'BIG5'", 'SET client_encoding = sql_ascii', "SELECT set_config('client_encoding', 'SJIS', false)"]) {
      const r = await s.query(q);
      assert.ok(r.error, q);
    }
    assert.equal((await s.query("SET client_encoding = 'utf-8'")).error, undefined);
    assert.equal((await s.query("SET NAMES 'UTF8'")).error, undefined);
    // gw-027's bytes and gw-192/194's Parse, sent as they are: refused as invalid UTF-8.
    const exploit = cat("SELECT E'", SJIS, "'; COMMIT; BEGIN READ WRITE; UPDATE customers SET balance = -777 WHERE id = 2; COMMIT; SELECT '--'");
    assert.equal((await s.query(exploit)).error, '22021');
    assert.equal((await s.extended(cat("SELECT E'", SJIS, "', set_config($$default_transaction_read_only$$, $$off$$, false), '--'"))).error, '22021');
    assert.equal((await s.query(cat("SELECT E'", SJIS, "'; SET LOCAL session_replication_role = replica; DROP TABLE orders; SELECT '--'"))).error, '22021');
    assert.equal((await s.query(cat("SELECT E'", SJIS, "'; COPY (SELECT 1) TO PROGRAM 'true'; SELECT '--'"))).error, '22021');
    assert.equal((await s.extended(cat("SELECT E'", SJIS, "', bump(5), '--'"))).error, '22021');
    assert.equal((await s.query('SHOW client_encoding')).error, undefined);
    s.close();
    assert.equal(await checksum(f.prodUrl), before);
  });

  it('gw-026/gw-027/gw-292/gw-293: a client asking for SJIS, GBK or BIG5 at startup gets a clear FATAL', async () => {
    const before = await checksum(f.prodUrl);
    const url = f.url('dave', 'disable');
    for (const [enc, bytes] of [['SJIS', SJIS], ['GBK', SJIS], ['BIG5', BIG5]] as const) {
      const file = join(tmp, `${enc}.sql`);
      writeFileSync(file, cat("SELECT E'", bytes, "'; COMMIT; BEGIN READ WRITE; UPDATE customers SET balance = -777 WHERE id = 2; COMMIT; SELECT '--'"));
      const r = await psql([url, '-f', file], { PGCLIENTENCODING: enc });
      assert.notEqual(r.status, 0, enc);
      assert.match(r.stderr, /client_encoding .* not supported.*only UTF8/, enc);
    }
    assert.equal((await psql([url, '-tAc', 'SHOW client_encoding'], { PGCLIENTENCODING: 'UTF8' })).stdout.trim(), 'UTF8');
    assert.equal(await checksum(f.prodUrl), before);
  });

  it('gw-253/gw-257..261: tokens in every spelling and comment contents never reach the audit log', async () => {
    const c = await client(f);
    for (const q of [
      'SET prodguard.token = tokUnquotedSecret123', 'SET prodguard.token TO "tokDoubleQuotedSecret456"', "SET prodguard.token = 'tokSingleQuoted789'",
      "SELECT set_config('prodguard.token', 'tokSetConfig321', false)", 'SELECT 1 /* password=commentSecret99 */', 'SELECT 1 -- my db password is lineCommentSecret77\n',
      'SELECT 1 /* outer /* nested */ nestedCommentSecret55 */',
    ]) await outcome(c, q);
    await c.end();
    f.gateway.flushAudit();
    const audit = readFileSync(f.auditFile, 'utf8');
    assert.match(audit, /prodguard\.token = \*\*\*\*/);
    for (const secret of ['tokUnquotedSecret123', 'tokDoubleQuotedSecret456', 'tokSingleQuoted789', 'tokSetConfig321', 'commentSecret99', 'lineCommentSecret77', 'nestedCommentSecret55'])
      assert.ok(!audit.includes(secret), `${secret} is in the audit log`);
    assert.match(audit, /\/\* … \*\//);
  });

  it('gw-270..273: a statement over gateway.maxStatementBytes is refused with 54000 before parsing; the session goes on', async () => {
    const c = await client(f);
    const huge = `SELECT 1 WHERE 1 IN (${Array.from({ length: 300_000 }, (_, i) => i).join(',')})`;
    assert.ok(huge.length > 1024 * 1024);
    assert.equal(await outcome(c, huge), '54000');
    await assert.rejects(c.query({ text: huge, values: [] }), (e: { code?: string }) => e.code === '54000');
    assert.equal((await c.query('SELECT count(*)::int AS n FROM customers')).rows[0].n, 1000);
    await c.end();
  });

  it('gw-274..276: sockets that never log in are capped and closed after the authentication timeout; real logins then work', async () => {
    const idle: Socket[] = [];
    const closed: Array<Promise<void>> = [];
    for (let i = 0; i < 6; i++) {
      const s = netConnect({ host: '127.0.0.1', port: f.port });
      s.on('error', () => {});
      closed.push(new Promise((r) => s.once('close', () => r())));
      s.resume();
      idle.push(s);
    }
    // The cap (4) closes the extra ones at once, the authentication timeout the rest.
    await Promise.all(closed);
    const c = await client(f);
    assert.equal((await c.query('SELECT 1 AS one')).rows[0].one, 1);
    await c.end();
  });

  it('gw-060..070, gw-333..335, gw-075..080, gw-338: settings that lift a safety limit or need a superuser are refused', async () => {
    const c = await client(f);
    for (const s of [
      'SET statement_timeout = 0.1', "SET statement_timeout = '0.4ms'", 'SET statement_timeout = 2147483647', "SET statement_timeout = '400us'",
      "SET idle_in_transaction_session_timeout = '0.2'", "SET lock_timeout = '0.3'", "SET sort_mem = '2000000'", "SET vacuum_mem = '4000000'",
      'SET hash_mem_multiplier = 1000', 'SET log_statement = none', 'SET track_activities = off', 'SET allow_system_table_mods = on',
      'SET zero_damaged_pages = on', "SET dynamic_library_path = '/tmp'", "SET max_stack_depth = '7MB'", 'SET backslash_quote = off',
      "SELECT set_config('log_statement', 'none', false)", 'SET LOCAL log_min_duration_statement = -1',
    ]) assert.notEqual(await outcome(c, s), 'ok', s);
    for (const s of ["SET statement_timeout = '30s'", 'SET statement_timeout = 1', "SET work_mem = '64MB'", 'SET hash_mem_multiplier = 2', "SET application_name = 'x'", 'RESET statement_timeout', 'SET search_path = public'])
      assert.equal(await outcome(c, s), 'ok', s);
    await c.end();
  });

  it('gw-235..239, gw-265..267: a short sleep does not lend its verdict to a longer one through the shape cache', async () => {
    const c = await client(f);
    assert.equal(await outcome(c, 'SELECT pg_sleep(3) AS zz'), '25006');
    assert.equal(await outcome(c, 'SELECT pg_sleep(0.01) AS yy'), 'ok');
    assert.equal(await outcome(c, 'SELECT pg_sleep(3) AS yy'), '25006');
    assert.equal(await outcome(c, 'SELECT pg_sleep(0.5)'), 'ok');
    for (const s of ['SELECT pg_sleep(9)', 'SELECT pg_sleep(10)', 'SELECT pg_sleep(5.5)']) assert.equal(await outcome(c, s), '25006', s);
    await c.end();
  });

  it('gw-300: set_config(\'application_name\', …) with constants is allowed; with anything else beside it, refused', async () => {
    const c = await client(f);
    assert.equal(await outcome(c, "SELECT set_config('application_name', 'x', false)"), 'ok');
    assert.equal((await c.query('SHOW application_name')).rows[0].application_name, 'x');
    assert.equal(await outcome(c, "SELECT set_config('application_name', 'x', false), set_config('default_transaction_read_only', 'off', false)"), '42501');
    assert.equal(await outcome(c, "SELECT set_config('application_name', 'x', false), bump(1)"), '42501');
    assert.equal(await outcome(c, "SELECT set_config('application_name', (SELECT 'x'), false)"), '42501');
    await c.end();
  });
});
