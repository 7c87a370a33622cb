/**
 * Red-team case gw-362: a client that never reads its socket while the database streams a huge
 * result (COPY … TO STDOUT of gigabytes) must not make the gateway buffer it all in memory — one
 * session could otherwise exhaust the gateway for everyone. The gateway stops reading from the
 * database until the client drains; other sessions keep being served.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import pg from 'pg';
import { sharedCluster } from '../helpers/pg.js';
import { gatewayFixture, type GatewayFixture } from './fixture.js';

const cluster = sharedCluster();
let f: GatewayFixture | undefined;
after(async () => {
  await f?.stop();
});

test('gw-362: a client that stops reading a 5 GB COPY does not make the gateway buffer it; others are still served', async () => {
  f = await gatewayFixture(cluster(), 'gwbp');
  const url = f.url('dave');
  const before = process.memoryUsage().rss;
  // psql writes into a pipe nobody reads: it blocks, stops reading its socket, and TCP pushes back.
  const slow = spawn('bash', ['-c', `psql "$U" -qAt -c "COPY (SELECT repeat('x', 1000) FROM generate_series(1, 5000000)) TO STDOUT" | sleep 60`], {
    env: { ...process.env, U: url },
    stdio: 'ignore',
    detached: true,
  });
  try {
    let peak = 0;
    for (let i = 0; i < 16; i++) {
      await new Promise((r) => setTimeout(r, 500));
      peak = Math.max(peak, process.memoryUsage().rss - before);
    }
    assert.ok(peak < 256 * 1024 * 1024, `the gateway grew by ${Math.round(peak / 1048576)} MB while the client did not read`);
    const c = new pg.Client({ connectionString: url.replace(/\?sslmode=\w+/, ''), ssl: { rejectUnauthorized: false } });
    await c.connect();
    try {
      assert.equal((await c.query('SELECT 41 + 1 AS n')).rows[0].n, 42);
    } finally {
      await c.end();
    }
  } finally {
    try {
      process.kill(-slow.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});
