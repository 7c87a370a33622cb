/**
 * Read-only debugging on the shadow (#19 item 4): `gateway --read-from` and `mcp --read-from`
 * judge, audit and name everything as production but read the shadow's database. The pair here
 * is two databases whose shadow state is recorded as `shadow enable` records it (replication
 * itself is covered by shadow.test.ts); a row present only on the shadow proves where reads go.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import pg from 'pg';
import { stringify } from 'yaml';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { sharedCluster, sql, createDatabase } from '../helpers/pg.js';
import { CLI, TSX, makeProject, runCli } from '../helpers/cli.js';
import { openContext, type Context } from '../../src/context.js';
import { addUser } from '../../src/gateway/users.js';
import { createGrant } from '../../src/grants/grants.js';
import { startGateway } from '../../src/gateway/start.js';
import { writeShadowState, subscriptionName, publicationName } from '../../src/shadow/state.js';

type TextResult = { content: Array<{ type: string; text: string }>; isError?: boolean };

describe('--read-from the shadow', () => {
  const cluster = sharedCluster();
  let prodUrl: string;
  let shadowUrl: string;
  let project: { dir: string; cleanup(): void };
  let ctx: Context;
  let vars: Record<string, string>;
  const setup = `CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders SELECT i, 'o' || i FROM generate_series(1, 20) i;`;

  before(async () => {
    [prodUrl, shadowUrl] = await Promise.all([createDatabase(cluster(), 'rf_prod'), createDatabase(cluster(), 'rf_shadow')]);
    await sql(prodUrl, setup);
    await sql(shadowUrl, setup + ` INSERT INTO orders VALUES (999, 'only on the shadow');`);
    project = makeProject({});
    writeFileSync(join(project.dir, 'prodguard.yaml'), stringify({
      version: 1,
      project: { name: 'acme' },
      environments: {
        production: { kind: 'production', urlEnv: 'RF_PROD_URL' },
        shadow: { kind: 'local', urlEnv: 'RF_SHADOW_URL' },
        staging: { kind: 'staging', urlEnv: 'RF_SHADOW_URL' },
      },
      team: [{ name: 'alice', role: 'senior' }],
      gateway: { listen: '127.0.0.1:0' },
    }));
    vars = { RF_PROD_URL: prodUrl, RF_SHADOW_URL: shadowUrl };
    Object.assign(process.env, vars);
    ctx = openContext({ cwd: project.dir });
    await writeShadowState(ctx, {
      environment: 'production', shadowEnv: 'shadow', publication: publicationName(), subscription: subscriptionName('production'),
      schemas: ['public'], tables: ['public.orders'], notCovered: [], enabledAt: new Date().toISOString(), fingerprint: null, sequencesSyncedAt: null, originId: null,
    });
    const store = await ctx.store();
    await addUser(store, ctx.loaded.config.team, { name: 'alice', member: 'alice', password: 'alice-password-123', createdBy: 'test' });
    // A live write grant: the read-from gateway must not honour it.
    await createGrant(store, { env: 'production', person: 'alice', reason: 'hotfix', kind: 'break-glass', durationMs: 3_600_000, createdBy: 'test' });
  });
  after(async () => {
    await ctx?.close();
    project?.cleanup();
  });

  it('gateway: reads return the shadow\'s rows, a write is refused under a live grant, audit names production', async () => {
    const started = await startGateway(ctx, { env: 'production', readFrom: 'shadow' });
    assert.equal(started.readFrom, 'shadow');
    const c = new pg.Client({ host: '127.0.0.1', port: started.port, user: 'alice', password: 'alice-password-123', database: 'production', ssl: { rejectUnauthorized: false } });
    c.on('error', () => {});
    try {
      await c.connect();
      assert.deepEqual((await c.query('SELECT note FROM orders WHERE id = 999')).rows, [{ note: 'only on the shadow' }]);
      assert.equal((await c.query('SELECT current_database() AS db')).rows[0].db, 'rf_shadow');
      await assert.rejects(c.query(`INSERT INTO orders VALUES (1000, 'x')`), (e: Error & { code?: string }) => {
        assert.match(e.message, /refused for "alice" \(this gateway reads from the shadow shadow; no write runs through it\)/);
        return true;
      });
      await assert.rejects(c.query(`SET default_transaction_read_only = off; DELETE FROM orders`), /reads from the shadow/);
    } finally {
      await c.end().catch(() => {});
      await started.gateway.close();
    }
    for (const url of [prodUrl, shadowUrl]) assert.equal((await sql(url, 'SELECT 1 FROM orders WHERE id = 1000 OR id = 1')).length, 1, 'nothing written anywhere');
    const audit = readFileSync(join(project.dir, '.prodguard/gateway-audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const insert = audit.find((r) => /INSERT/.test(r.command));
    assert.equal(insert.target, 'production');
    assert.equal(insert.verdict, 'deny');
  });

  it('gateway: a read-from that is not the recorded shadow is refused in one line (library and CLI)', async () => {
    await assert.rejects(startGateway(ctx, { env: 'production', readFrom: 'staging' }), /the recorded shadow of production is shadow, not staging/);
    const r = await runCli(['gateway', '--env', 'production', '--read-from', 'staging', '--listen', '127.0.0.1:0'], { cwd: project.dir, env: vars });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^prodguard: --read-from staging: the recorded shadow of production is shadow, not staging\n$/);
    // The started gateway says where reads go (--json on stdout, the note on stderr).
    const child = spawn(process.execPath, ['--import', TSX, CLI, 'gateway', '--env', 'production', '--read-from', 'shadow', '--listen', '127.0.0.1:0', '--json'], { cwd: project.dir, env: { ...(process.env as Record<string, string>), ...vars }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]);
      });
      child.on('exit', () => reject(new Error(`gateway exited: ${err}`)));
    });
    const info = JSON.parse(line);
    assert.equal(info.environment, 'production');
    assert.equal(info.readsFrom, 'shadow');
    assert.equal(info.shadow, true);
    const exited = new Promise((r) => child.once('close', r));
    child.kill('SIGTERM');
    await exited;
    assert.match(err, /reads go to the shadow shadow, writes are refused/);
    const none = await runCli(['gateway', '--env', 'shadow', '--read-from', 'production', '--listen', '127.0.0.1:0'], { cwd: project.dir, env: vars });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^prodguard: --read-from production: no shadow is set up for shadow/);
  });

  it('mcp: query reads the shadow; writes refused; a wrong --read-from, or one beside a gateway URL, does not start', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', TSX, CLI, 'mcp', '--env', 'production', '--read-from', 'shadow'],
      cwd: project.dir,
      env: { ...(process.env as Record<string, string>), ...vars, PRODGUARD_GATEWAY_URL: '' },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'prodguard-test-agent', version: '1' });
    await client.connect(transport);
    try {
      const q = (await client.callTool({ name: 'query', arguments: { sql: 'SELECT id, note FROM orders WHERE id > 19 ORDER BY id' } })) as TextResult;
      assert.ok(!q.isError, q.content[0].text);
      assert.deepEqual(JSON.parse(q.content[0].text).rows, [{ id: 20, note: 'o20' }, { id: 999, note: 'only on the shadow' }]);
      const w = (await client.callTool({ name: 'query', arguments: { sql: 'DELETE FROM orders' } })) as TextResult;
      assert.equal(w.isError, true);
      assert.match(w.content[0].text, /^refused: /);
    } finally {
      await client.close();
    }
    assert.equal((await sql(shadowUrl, 'SELECT count(*)::int AS n FROM orders'))[0].n, 21);
    const bad = await runCli(['mcp', '--env', 'production', '--read-from', 'staging'], { cwd: project.dir, env: vars });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^prodguard: --read-from staging: the recorded shadow of production is shadow, not staging\n$/);
    const both = await runCli(['mcp', '--env', 'production', '--read-from', 'shadow'], { cwd: project.dir, env: { ...vars, PRODGUARD_GATEWAY_URL: 'postgresql://alice@127.0.0.1:1/production' } });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /^prodguard: --read-from connects to the shadow directly; unset PRODGUARD_GATEWAY_URL/);
  });
});
