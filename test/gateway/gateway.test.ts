/**
 * The gateway against a real cluster, with real clients: node-postgres (simple and extended
 * protocol), psql over TLS (sslmode=require), pgbench -S, raw cancel requests; refusals carry
 * PostgreSQL errors; grants open writes only while they last; every statement is audited.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { sharedCluster, sql } from '../helpers/pg.js';
import { gatewayFixture, type GatewayFixture } from './fixture.js';
import { createGrant } from '../../src/grants/grants.js';
import { verifyAuditText } from '../../src/audit/log.js';
import { runCli } from '../helpers/cli.js';
import { CANCEL_REQUEST, int32, packet } from '../../src/gateway/protocol.js';

const SETUP = `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 100) i;
CREATE FUNCTION sneaky() RETURNS int LANGUAGE sql AS $$ DELETE FROM t RETURNING 1 $$;`;

/** Runs a client program without blocking the event loop (the gateway runs in this process). */
function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url.replace(/\?sslmode=\w+/, ''), ssl: url.includes('sslmode=disable') ? false : { rejectUnauthorized: false }, connectionTimeoutMillis: 5000 });
  c.on('error', () => {});
  await c.connect();
  return c;
}

async function refusal(c: pg.Client, text: string, values?: unknown[]): Promise<{ code?: string; message: string }> {
  try {
    await c.query(text, values);
  } catch (e) {
    return e as { code?: string; message: string };
  }
  assert.fail(`expected ${text} to be refused`);
}

describe('prodguard gateway', () => {
  const cluster = sharedCluster();
  let f: GatewayFixture;
  before(async () => {
    f = await gatewayFixture(cluster(), 'gw', {}, SETUP);
  });
  after(async () => {
    await f?.stop();
  });

  it('relays reads over the simple and the extended protocol as a gateway user, with TLS', async () => {
    const c = await client(f.url('dave'));
    try {
      assert.equal((await c.query('SELECT count(*)::int AS n FROM t')).rows[0].n, 100);
      assert.equal((await c.query('SELECT v FROM t WHERE id = $1', [7])).rows[0].v, 'v7');
      assert.equal((await c.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows.length, 1);
      assert.equal((await c.query('SHOW default_transaction_read_only')).rows[0].default_transaction_read_only, 'on');
    } finally {
      await c.end();
    }
  });

  it('refuses writes with SQLSTATE 25006 and privilege changes with 42501 over both protocols, and the data stays', async () => {
    const c = await client(f.url('dave'));
    try {
      const del = await refusal(c, 'DELETE FROM t WHERE id = 1');
      assert.equal(del.code, '25006');
      assert.match(del.message, /refused for "dave".*read-only access/);
      assert.equal((await refusal(c, 'DELETE FROM t WHERE id = $1', [1])).code, '25006');
      assert.equal((await refusal(c, 'SELECT sneaky()')).code, '25006');
      assert.equal((await refusal(c, 'SET default_transaction_read_only = off')).code, '42501');
      assert.equal((await refusal(c, 'BEGIN READ WRITE')).code, '42501');
      assert.equal((await refusal(c, 'START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE')).code, '42501');
      assert.equal((await refusal(c, "SELECT set_config('default_transaction_read_only', 'off', false)")).code, '42501');
      assert.equal((await refusal(c, 'RESET ALL')).code, '42501');
      // Inside a transaction a refusal aborts it, as a PostgreSQL error would.
      await c.query('BEGIN');
      assert.equal((await refusal(c, 'TRUNCATE t')).code, '25006');
      assert.equal((await refusal(c, 'SELECT 1')).code, '25P02');
      await c.query('ROLLBACK');
      assert.equal((await c.query('SELECT 1 AS one')).rows[0].one, 1);
    } finally {
      await c.end();
    }
    assert.equal((await sql<{ n: number }>(f.prodUrl, 'SELECT count(*)::int AS n FROM t'))[0].n, 100);
  });

  it('a cursor or prepared statement judged read in this session serves later messages of this session only', async () => {
    const a = await client(f.url('dave'));
    const b = await client(f.url('dave'));
    const refusedByGateway = (e: { message: string }) => /^prodguard gateway: /.test(e.message);
    try {
      await a.query('BEGIN');
      await a.query('DECLARE cur NO SCROLL CURSOR FOR SELECT id FROM t ORDER BY id');
      assert.deepEqual((await a.query('FETCH 2 FROM cur')).rows.map((r) => r.id), [1, 2]);
      assert.deepEqual((await a.query('FETCH 1 FROM cur')).rows.map((r) => r.id), [3]);
      // Another session (same gateway user) knows nothing of this session's cursor.
      await b.query('BEGIN');
      assert.ok(refusedByGateway(await refusal(b, 'FETCH 2 FROM cur')));
      await b.query('ROLLBACK');
      await a.query('CLOSE cur');
      assert.ok(refusedByGateway(await refusal(a, 'FETCH 2 FROM cur')), 'closed: unknown again');
      await a.query('ROLLBACK');
      // Transaction end closes the cursor, so the gateway forgets it.
      await a.query('BEGIN');
      await a.query('DECLARE cur2 CURSOR FOR SELECT 1 AS one');
      await a.query('COMMIT');
      await a.query('BEGIN');
      assert.ok(refusedByGateway(await refusal(a, 'FETCH cur2')));
      await a.query('ROLLBACK');
      // A cursor whose query is not read-only is refused, and so is fetching from it.
      await a.query('BEGIN');
      assert.equal((await refusal(a, 'DECLARE w CURSOR FOR SELECT sneaky()')).code, '25006');
      await a.query('ROLLBACK');
      await a.query('BEGIN');
      assert.ok(refusedByGateway(await refusal(a, 'FETCH w')));
      await a.query('ROLLBACK');
      // A failed DECLARE (outside a transaction block) establishes nothing.
      await assert.rejects(a.query('DECLARE nope CURSOR FOR SELECT 1'), (e: { message: string }) => !refusedByGateway(e));
      await a.query('BEGIN');
      assert.ok(refusedByGateway(await refusal(a, 'FETCH nope')));
      await a.query('ROLLBACK');
      // PREPARE / EXECUTE / DEALLOCATE, and the per-session scope.
      await a.query('PREPARE p1 AS SELECT count(*)::int AS n FROM t');
      assert.equal((await a.query('EXECUTE p1')).rows[0].n, 100);
      assert.ok(refusedByGateway(await refusal(b, 'EXECUTE p1')));
      // A PREPARE that fails (the name is taken) must not replace the verdict: p1 stays what it was.
      await assert.rejects(a.query('PREPARE p1 AS SELECT 2'), (e: { message: string }) => !refusedByGateway(e));
      assert.ok(refusedByGateway(await refusal(a, 'EXECUTE p1')), 'a statement that touched the name makes it unknown');
      await a.query('DEALLOCATE p1');
      assert.ok(refusedByGateway(await refusal(a, 'EXECUTE p1')));
      // Named protocol statements share PREPARE's namespace.
      assert.equal((await a.query({ name: 'named1', text: 'SELECT v FROM t WHERE id = 3' })).rows[0].v, 'v3');
      assert.equal((await a.query('EXECUTE named1')).rows[0].v, 'v3');
      assert.ok(refusedByGateway(await refusal(b, 'EXECUTE named1')));
      assert.equal((await refusal(a, { name: 'named2', text: 'SELECT sneaky()' } as unknown as string)).code, '25006');
      assert.ok(refusedByGateway(await refusal(a, 'EXECUTE named2')));
    } finally {
      await a.end();
      await b.end();
    }
    assert.equal((await sql<{ n: number }>(f.prodUrl, 'SELECT count(*)::int AS n FROM t'))[0].n, 100);
  });

  it('drops startup parameters that would lift read-only mode (options=-c default_transaction_read_only=off)', async () => {
    const c = new pg.Client({ connectionString: f.url('dave').replace(/\?.*/, ''), ssl: { rejectUnauthorized: false }, options: '-c default_transaction_read_only=off' });
    await c.connect();
    try {
      assert.equal((await c.query('SHOW default_transaction_read_only')).rows[0].default_transaction_read_only, 'on');
    } finally {
      await c.end();
    }
  });

  it('refuses wrong passwords, unknown users, plaintext connections and other databases with PostgreSQL errors', async () => {
    await assert.rejects(client(f.url('dave').replace('dave-password-1234', 'wrong-password')), (e: { code?: string }) => e.code === '28P01');
    await assert.rejects(client(f.url('dave').replace('dave:', 'mallory:')), (e: { code?: string }) => e.code === '28P01');
    await assert.rejects(client(f.url('dave', 'disable')), (e: { code?: string; message: string }) => e.code === '28000' && /requires TLS/.test(e.message));
    await assert.rejects(client(f.url('dave').replace('/gw_prod', '/postgres')), (e: { code?: string }) => e.code === '3D000');
  });

  it('works with psql over TLS (sslmode=require) and streams COPY … TO STDOUT; COPY FROM is refused', async () => {
    const env = { ...process.env, PGPASSWORD: 'dave-password-1234', PGSSLMODE: 'require', PGCONNECT_TIMEOUT: '10' };
    const base = ['-h', '127.0.0.1', '-p', String(f.port), '-U', 'dave', '-d', 'gw_prod', '-X', '-A', '-t'];
    const ok = await run('psql', [...base, '-c', 'SELECT count(*) FROM t', '-c', 'COPY (SELECT id FROM t WHERE id <= 3 ORDER BY id) TO STDOUT'], { env });
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(ok.stdout.trim().split('\n'), ['100', '1', '2', '3']);
    const refused = await run('psql', [...base, '-c', 'DROP TABLE t'], { env });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /ERROR:  prodguard gateway: destructive statement refused/);
    const copyIn = await run('psql', [...base, '-c', 'COPY t FROM STDIN'], { env, input: '500\tx\n\\.\n' });
    assert.match(copyIn.stderr, /refused/);
  });

  it('runs pgbench -S through the gateway in simple and extended protocol', async () => {
    const env = { ...process.env, PGPASSWORD: '', PGSSLMODE: 'disable' };
    const init = await run('pgbench', ['-i', '-s', '1', '-q', f.prodUrl], { env });
    assert.equal(init.status, 0, init.stderr);
    for (const mode of ['simple', 'extended', 'prepared']) {
      const r = await run('pgbench', ['-S', '-n', '-c', '2', '-t', '50', '-M', mode, `host=127.0.0.1 port=${f.port} dbname=gw_prod user=dave password=dave-password-1234 sslmode=require`]);
      assert.equal(r.status, 0, `${mode}: ${r.stderr}`);
      assert.match(r.stdout, /number of transactions actually processed: 100\/100/);
    }
  });

  it('forwards a client cancel request to the running statement', async () => {
    const c = await client(f.url('dave'));
    try {
      const running = c.query('SELECT count(*) FROM generate_series(1, 2000000000)').then(() => null, (e: { code?: string }) => e);
      await new Promise((r) => setTimeout(r, 300));
      const { processID, secretKey } = c as unknown as { processID: number; secretKey: number };
      await new Promise<void>((resolve, reject) => {
        const s = netConnect({ host: '127.0.0.1', port: f.port }, () => s.end(packet(Buffer.concat([int32(CANCEL_REQUEST), int32(processID), int32(secretKey)]))));
        s.on('close', () => resolve());
        s.on('error', reject);
      });
      const err = await running;
      assert.equal(err?.code, '57014');
      assert.equal((await c.query('SELECT 2 AS two')).rows[0].two, 2);
    } finally {
      await c.end();
    }
  });

  it('lets a person with a live write grant write, and refuses once the grant has expired', async () => {
    const store = await f.ctx.store();
    await createGrant(store, { env: 'production', person: 'alice', reason: 'fix order 42', kind: 'break-glass', durationMs: 3_600_000, createdBy: 'test' });
    const a = await client(f.url('alice'));
    try {
      assert.equal((await a.query("UPDATE t SET v = 'fixed' WHERE id = 42")).rowCount, 1);
      assert.equal((await a.query('UPDATE t SET v = $1 WHERE id = $2', ['fixed', 44])).rowCount, 1);
    } finally {
      await a.end();
    }
    // Each write under the grant has a write-ahead record, on disk before its outcome (simple and extended protocol).
    const recs = readFileSync(f.auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; action: string; command: string; actor: string });
    for (const cmd of ['UPDATE t SET v = ? WHERE id = ?', 'UPDATE t SET v = $1 WHERE id = $2']) {
      const start = recs.find((r) => r.action === 'gateway.statement-start' && r.command === cmd && r.actor === 'alice');
      const done = recs.find((r) => r.action === 'gateway.statement' && r.command === cmd && r.actor === 'alice');
      assert.ok(start && done && start.seq < done.seq, `${cmd}: write-ahead record before the outcome`);
    }
    // dave has only an expired grant: still read-only.
    await createGrant(store, { env: 'production', person: 'dave', reason: 'old', kind: 'deploy', durationMs: 1000, createdBy: 'test', now: new Date(Date.now() - 60_000) });
    const d = await client(f.url('dave'));
    try {
      assert.equal((await refusal(d, "UPDATE t SET v = 'x' WHERE id = 43")).code, '25006');
    } finally {
      await d.end();
    }
    assert.equal((await sql<{ v: string }>(f.prodUrl, 'SELECT v FROM t WHERE id = 43'))[0].v, 'v43');
  });

  it('ends a read-write session once its grant is revoked (the server-side read-only wall is off in it)', async () => {
    const store = await f.ctx.store();
    await createGrant(store, { env: 'production', person: 'alice', reason: 'hotfix', kind: 'break-glass', durationMs: 3_600_000, createdBy: 'test' });
    const a = await client(f.url('alice'));
    const ended = new Promise<{ code?: string }>((resolve) => a.on('error', (e) => resolve(e as { code?: string })));
    try {
      assert.equal((await a.query("UPDATE t SET v = 'hot' WHERE id = 44")).rowCount, 1);
      // Revoke every grant alice holds; the session re-reads grants at most every 2 s.
      const { listGrants, revokeGrant } = await import('../../src/grants/grants.js');
      for (const x of await listGrants(store, { env: 'production', activeOnly: true })) if (x.person === 'alice') await revokeGrant(store, x.id);
      await new Promise((r) => setTimeout(r, 2200));
      await a.query('SELECT 1').catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
      const err = await a.query('SELECT 2').then(() => ({ code: 'none' }), (e) => e as { code?: string });
      assert.equal(err.code, '25006');
      void ended;
    } finally {
      await a.end().catch(() => undefined);
    }
  });

  it('limits connections per user', async () => {
    const held: pg.Client[] = [];
    try {
      for (let i = 0; i < 10; i++) held.push(await client(f.url('dave')));
      await assert.rejects(client(f.url('dave')), (e: { code?: string }) => e.code === '53300');
      const other = await client(f.url('alice'));
      await other.end();
    } finally {
      await Promise.all(held.map((c) => c.end()));
    }
  });

  it('audits every statement with person, client, verdict, rows and masked literals; audit search filters them', async () => {
    const c = await client(f.url('dave'));
    await c.query("SELECT v FROM t WHERE v = 'secret-value' OR id = 987654321987");
    await refusal(c, "DELETE FROM t WHERE v = 'secret-value'");
    await c.end();
    f.gateway.flushAudit();
    const text = readFileSync(f.auditFile, 'utf8');
    assert.ok(verifyAuditText(text).ok, 'gateway audit chain verifies');
    assert.doesNotMatch(text, /secret-value|987654321987/);
    const recs = text.trim().split('\n').map((l) => JSON.parse(l));
    const read = recs.find((r) => r.action === 'gateway.statement' && r.verdict === 'allow' && r.command.includes("v = ? OR id = ?"));
    assert.ok(read, 'allowed read audited with masked literals');
    assert.equal(read.actor, 'dave');
    assert.equal(read.details.rows, 0);
    assert.match(read.details.client, /^127\.0\.0\.1:\d+$/);
    assert.equal(typeof read.details.durationMs, 'number');
    const res = await runCli(['audit', 'search', '--person', 'dave', '--verdict', 'deny', '--env', 'production', '--json'], { cwd: f.dir });
    assert.equal(res.code, 0, res.stderr);
    const found = JSON.parse(res.stdout) as Array<{ command: string; verdict: string }>;
    assert.ok(found.some((r) => r.command === 'DELETE FROM t WHERE v = ?'));
    assert.ok(found.every((r) => r.verdict === 'deny'));
  });

  it('survives an upstream restart: the client gets an error, new connections work again', async () => {
    const c = await client(f.url('dave'));
    const lost = new Promise<{ code?: string }>((resolve) => c.on('error', (e) => resolve(e as { code?: string })));
    await cluster().stop('fast');
    await cluster().start();
    const err = await Promise.race([lost, c.query('SELECT 1').then(() => ({ code: 'none' }), (e) => e as { code?: string })]);
    assert.notEqual(err.code, 'none');
    await c.end().catch(() => {});
    const again = await client(f.url('dave'));
    assert.equal((await again.query('SELECT 3 AS three')).rows[0].three, 3);
    await again.end();
  });
});

describe('prodguard gateway timeouts', () => {
  const cluster = sharedCluster();
  let f: GatewayFixture;
  before(async () => {
    f = await gatewayFixture(cluster(), 'gwt', { statementTimeout: '1s', idleTimeout: '2s' });
  });
  after(async () => {
    await f?.stop();
  });

  it('cancels a statement that outlives gateway.statementTimeout even after the client raised statement_timeout; removing the limit is refused', async () => {
    const c = await client(f.url('dave'));
    try {
      // The client may not remove the server's own limit through the gateway at all…
      await assert.rejects(c.query('SET statement_timeout = 0'), (e: { code?: string; message: string }) => e.code === '42501' && /^prodguard gateway: /.test(e.message));
      await assert.rejects(c.query("SELECT set_config('statement_timeout', '0', false)"), (e: { message: string }) => /^prodguard gateway: /.test(e.message));
      // …and with the server's limit raised far beyond the gateway's 1 s, the gateway still cancels:
      // "user request" is the cancel the gateway sends, not the server's own statement timeout.
      await c.query("SET statement_timeout = '1h'");
      assert.equal((await c.query('SHOW statement_timeout')).rows[0].statement_timeout, '1h');
      await assert.rejects(c.query('SELECT count(*) FROM generate_series(1, 2000000000)'), (e: { code?: string; message: string }) => e.code === '57014' && /user request/.test(e.message));
    } finally {
      await c.end();
    }
  });

  it('closes a session idle longer than gateway.idleTimeout', async () => {
    const c = await client(f.url('dave'));
    const closed = new Promise<{ code?: string }>((resolve) => c.on('error', (e) => resolve(e as { code?: string })));
    const err = await closed;
    assert.equal(err.code, '57P05');
    await c.end().catch(() => {});
  });
});
