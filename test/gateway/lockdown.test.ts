/**
 * Lockdown inside a real database: the event trigger and TRUNCATE triggers refuse DROP TABLE,
 * TRUNCATE and ALTER TABLE … DROP COLUMN from a direct connection without a token, allow them with
 * a valid deploy token, refuse an expired token; status detects tampering; the CLI plans
 * (shows the SQL), applies (audited), reports status and removes.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { sharedCluster, sql, createDatabase } from '../helpers/pg.js';
import { makeProject, runCli } from '../helpers/cli.js';
import { connect } from '../../src/pg/client.js';
import { createServer, connect as netConnect, type AddressInfo } from 'node:net';
import { lockdownStatus } from '../../src/lockdown/lockdown.js';
import { openContext } from '../../src/context.js';

const SETUP = `CREATE ROLE lockdown_app LOGIN;
CREATE TABLE orders (id int PRIMARY KEY, note text, extra text); INSERT INTO orders SELECT i, 'n' || i, 'x' FROM generate_series(1, 10) i;
CREATE TABLE victims (id int); INSERT INTO victims VALUES (1);
CREATE TABLE doomed (id int);
GRANT ALL ON ALL TABLES IN SCHEMA public TO lockdown_app;`;

async function attempt(url: string, statements: string[]): Promise<{ code?: string; message: string } | null> {
  const c = await connect(url);
  try {
    for (const s of statements) await c.query(s);
    return null;
  } catch (e) {
    return e as { code?: string; message: string };
  } finally {
    await c.end();
  }
}

describe('prodguard lockdown', () => {
  const cluster = sharedCluster();
  let prodUrl: string;
  let project: { dir: string; cleanup(): void };
  let env: Record<string, string>;
  before(async () => {
    prodUrl = await createDatabase(cluster(), 'lockdown_prod');
    await sql(prodUrl, SETUP);
    project = makeProject({});
    writeFileSync(join(project.dir, 'prodguard.yaml'), stringify({
      version: 1,
      project: { name: 'acme' },
      environments: { production: { kind: 'production', urlEnv: 'LOCKDOWN_PROD_URL' } },
      team: [{ name: 'alice', role: 'senior' }],
      lockdown: { applicationRoles: ['lockdown_app'] },
    }));
    env = { LOCKDOWN_PROD_URL: prodUrl, PRODGUARD_ACTOR: 'alice' };
  });
  after(() => project?.cleanup());

  it('plan prints the SQL from the named files without touching the database', async () => {
    const r = await runCli(['lockdown', 'plan', '--env', 'production'], { cwd: project.dir, env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /-- 03-ddl-guard\.sql/);
    assert.match(r.stdout, /CREATE EVENT TRIGGER prodguard_ddl_guard ON ddl_command_start/);
    assert.match(r.stdout, /REVOKE TRUNCATE, TRIGGER, REFERENCES ON ALL TABLES IN SCHEMA "public" FROM "lockdown_app";/);
    assert.equal((await sql(prodUrl, `SELECT 1 FROM pg_namespace WHERE nspname = 'prodguard'`)).length, 0);
    const s = await runCli(['lockdown', 'status', '--env', 'production', '--json'], { cwd: project.dir, env });
    assert.equal(JSON.parse(s.stdout).state, 'absent');
  });

  it('apply installs it (audited) and status says intact', async () => {
    const r = await runCli(['lockdown', 'apply', '--env', 'production'], { cwd: project.dir, env });
    assert.equal(r.code, 0, r.stderr);
    const s = await runCli(['lockdown', 'status', '--env', 'production', '--json'], { cwd: project.dir, env });
    assert.equal(s.code, 0, s.stderr);
    assert.equal(JSON.parse(s.stdout).state, 'intact');
    const tail = await runCli(['audit', 'tail', '--json'], { cwd: project.dir, env });
    assert.ok((JSON.parse(tail.stdout) as Array<{ action: string; verdict: string }>).some((x) => x.action === 'lockdown.apply' && x.verdict === 'ok'));
  });

  it('gw-204/205/363: an application role changing its own settings (ALTER ROLE … SET needs no token) shows as tampered', async () => {
    const appUrl = prodUrl.replace('postgres@', 'lockdown_app@');
    assert.notEqual(appUrl, prodUrl);
    await sql(appUrl, 'ALTER ROLE lockdown_app SET default_transaction_read_only = on');
    try {
      const s = await runCli(['lockdown', 'status', '--env', 'production', '--json'], { cwd: project.dir, env });
      assert.equal(s.code, 1);
      const st = JSON.parse(s.stdout) as { state: string; problems: string[] };
      assert.equal(st.state, 'tampered');
      assert.ok(st.problems.some((p) => /role lockdown_app's settings changed since lockdown apply \(none → default_transaction_read_only=on\)/.test(p)), st.problems.join('; '));
    } finally {
      await sql(prodUrl, 'ALTER ROLE lockdown_app RESET ALL');
    }
    const again = await runCli(['lockdown', 'status', '--env', 'production', '--json'], { cwd: project.dir, env });
    assert.equal(JSON.parse(again.stdout).state, 'intact');
  });

  it('status reads everything, role settings included, over one connection in one round trip', async () => {
    // A loopback pass-through in front of the database counts connections and the client's
    // round trips (a simple Query, or a Sync closing an extended-protocol batch).
    const u = new URL(prodUrl);
    let connections = 0;
    let roundTrips = 0;
    const proxy = createServer((client) => {
      connections++;
      const server = netConnect(Number(u.port || 5432), u.hostname === 'localhost' ? '127.0.0.1' : u.hostname);
      let buf = Buffer.alloc(0);
      let started = false;
      client.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
          if (!started) {
            if (buf.length < 4 || buf.length < buf.readInt32BE(0)) break;
            const len = buf.readInt32BE(0);
            // An SSLRequest (refused by the server with 'N') is followed by the real startup packet.
            if (!(len === 8 && buf.readInt32BE(4) === 80877103)) started = true;
            buf = buf.subarray(len);
          } else {
            if (buf.length < 5 || buf.length < 1 + buf.readInt32BE(1)) break;
            const type = String.fromCharCode(buf[0]);
            if (type === 'Q' || type === 'S') roundTrips++;
            buf = buf.subarray(1 + buf.readInt32BE(1));
          }
        }
      });
      client.pipe(server).pipe(client);
      client.on('error', () => server.destroy());
      server.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const ctx = openContext({ configFile: join(project.dir, 'prodguard.yaml') });
    try {
      const viaProxy = new URL(prodUrl);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String((proxy.address() as AddressInfo).port);
      const settings = { schemas: ['public'], applicationRoles: ['lockdown_app'], readOnlyRole: 'prodguard_readonly', deployerRole: 'prodguard_deployer' };
      const st = await lockdownStatus(viaProxy.toString(), await ctx.store(), 'production', settings);
      assert.equal(st.state, 'intact', st.problems.join('; '));
      assert.equal(connections, 1, 'one connection');
      assert.equal(roundTrips, 1, 'one round trip');
    } finally {
      await ctx.close();
      await new Promise((r) => proxy.close(r));
    }
  });

  it('refuses DROP TABLE, TRUNCATE and ALTER TABLE … DROP COLUMN without a token, even for the superuser connection', async () => {
    for (const stmt of ['DROP TABLE victims', 'TRUNCATE victims', 'ALTER TABLE orders DROP COLUMN extra', 'DROP SCHEMA public CASCADE', 'DROP TRIGGER prodguard_no_truncate ON victims', 'ALTER TABLE victims DISABLE TRIGGER ALL']) {
      const e = await attempt(prodUrl, [stmt]);
      assert.equal(e?.code, '42501', `${stmt}: ${e?.message}`);
      assert.match(e!.message, /^prodguard lockdown: /);
    }
    const asApp = await attempt(prodUrl.replace('postgres@', 'lockdown_app@'), ['TRUNCATE victims']);
    assert.equal(asApp?.code, '42501');
    assert.equal((await sql<{ n: number }>(prodUrl, 'SELECT count(*)::int AS n FROM victims'))[0].n, 1);
  });

  it('still lets sessions create and drop their own temporary tables', async () => {
    assert.equal(await attempt(prodUrl, ['CREATE TEMP TABLE scratch (x int)', 'INSERT INTO scratch VALUES (1)', 'TRUNCATE scratch', 'DROP TABLE scratch']), null);
    assert.equal((await attempt(prodUrl, ['CREATE TEMP TABLE scratch2 (x int)', 'DROP TABLE scratch2, victims']))?.code, '42501');
  });

  it('protects tables created after apply too', async () => {
    await sql(prodUrl, 'CREATE TABLE later (id int); INSERT INTO later VALUES (1)');
    assert.equal((await attempt(prodUrl, ['TRUNCATE later']))?.code, '42501');
  });

  it('allows them with a valid deploy token and refuses an expired or forged one', async () => {
    const tok = await runCli(['lockdown', 'token', '--env', 'production', '--kind', 'deploy', '--ttl', '10min', '--reason', 'deploy 0042', '--json'], { cwd: project.dir, env });
    assert.equal(tok.code, 0, tok.stderr);
    const { token } = JSON.parse(tok.stdout) as { token: string };
    assert.equal(await attempt(prodUrl, [`SET prodguard.token = '${token}'`, 'TRUNCATE victims', 'ALTER TABLE orders DROP COLUMN extra', 'DROP TABLE doomed']), null);
    assert.equal((await sql(prodUrl, `SELECT 1 FROM pg_class WHERE relname = 'doomed'`)).length, 0);
    // A token that expired: issued for 1 second, then its expiry moved into the past.
    const c = await connect(prodUrl);
    const expired = (await c.query(`SELECT prodguard.issue_token('deploy', interval '1 second', 'alice', 'old deploy') AS t`)).rows[0].t as string;
    await c.query(`UPDATE prodguard.lockdown_tokens SET expires_at = clock_timestamp() - interval '1 minute' WHERE token_sha256 = encode(sha256(convert_to($1, 'UTF8')), 'hex')`, [expired]);
    await c.end();
    assert.equal((await attempt(prodUrl, [`SET prodguard.token = '${expired}'`, 'DROP TABLE later']))?.code, '42501');
    assert.equal((await attempt(prodUrl, [`SET prodguard.token = 'forged-${token.slice(7)}'`, 'DROP TABLE later']))?.code, '42501');
    // The application role cannot mint itself a token.
    assert.equal((await attempt(prodUrl.replace('postgres@', 'lockdown_app@'), [`SELECT prodguard.issue_token('deploy', interval '1 hour', 'me', 'x')`]))?.code, '42501');
  });

  it('status detects a disabled event trigger, an edited guard function and a table stripped of its trigger', async () => {
    const c = await connect(prodUrl);
    await c.query('ALTER EVENT TRIGGER prodguard_ddl_guard DISABLE');
    await c.query(`CREATE OR REPLACE FUNCTION prodguard.session_token_kind() RETURNS text LANGUAGE sql AS $$ SELECT 'deploy'::text $$`);
    await c.query('DROP TRIGGER prodguard_no_truncate ON orders');
    await c.end();
    const s = await runCli(['lockdown', 'status', '--env', 'production', '--json'], { cwd: project.dir, env });
    assert.equal(s.code, 1);
    const st = JSON.parse(s.stdout) as { state: string; problems: string[] };
    assert.equal(st.state, 'tampered');
    assert.ok(st.problems.some((p) => /prodguard_ddl_guard is disabled/.test(p)));
    assert.ok(st.problems.some((p) => /session_token_kind was changed/.test(p)));
    assert.ok(st.problems.some((p) => /public\.orders/.test(p)));
    const status = await runCli(['status', '--json'], { cwd: project.dir, env });
    const rule4 = (JSON.parse(status.stdout) as { rules: Array<{ rule: number; checks: Array<{ id: string; state: string }> }> }).rules.find((r) => r.rule === 4);
    const check = rule4?.checks.find((x) => x.id === 'lockdown.production');
    assert.equal(check?.state, 'failing');
  });

  it('re-apply repairs it; remove needs --yes and takes it out', async () => {
    assert.equal((await runCli(['lockdown', 'apply', '--env', 'production'], { cwd: project.dir, env })).code, 0);
    assert.equal(JSON.parse((await runCli(['lockdown', 'status', '--env', 'production', '--json'], { cwd: project.dir, env })).stdout).state, 'intact');
    const refused = await runCli(['lockdown', 'remove', '--env', 'production'], { cwd: project.dir, env });
    assert.equal(refused.code, 2);
    assert.equal((await runCli(['lockdown', 'remove', '--env', 'production', '--yes'], { cwd: project.dir, env })).code, 0);
    assert.equal(await attempt(prodUrl, ['TRUNCATE victims']), null);
  });
});
