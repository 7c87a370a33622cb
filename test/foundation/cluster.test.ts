import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { makeProject, REPO, TSX } from '../helpers/cli.js';
import { createCluster } from '../../src/pg/cluster.js';
import { withClient } from '../../src/pg/client.js';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ port, host: '127.0.0.1' });
    s.on('connect', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });
}

test('a throw-away cluster starts on a free loopback port, answers, and is removed by destroy()', async () => {
  const c = await createCluster({ name: 'prodguard-test-cluster' });
  const v = await withClient(c.url(), async (cl) => (await cl.query('SHOW server_version_num')).rows[0].server_version_num as string);
  assert.ok(Number(v) >= 140000);
  assert.equal(await portOpen(c.port), true);
  await c.destroy();
  assert.equal(existsSync(c.baseDir), false);
  assert.equal(await portOpen(c.port), false);
});

test('a port taken between picking it and starting the server is replaced by another free one', async () => {
  const { createServer } = await import('node:net');
  const squatter = createServer();
  await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
  const taken = (squatter.address() as { port: number }).port;
  try {
    const c = await createCluster({ name: 'prodguard-test-port', firstPort: taken });
    try {
      assert.notEqual(c.port, taken);
      assert.equal(await portOpen(c.port), true);
      const port = await withClient(c.url(), async (cl) => (await cl.query('SHOW port')).rows[0].port as string);
      assert.equal(Number(port), c.port);
    } finally {
      await c.destroy();
    }
    await assert.rejects(createCluster({ name: 'prodguard-test-port', port: taken }), /cannot start PostgreSQL on port/);
  } finally {
    squatter.close();
  }
});

test('a cluster is cleaned up when the code using it throws and the process exits', async () => {
  const p = makeProject();
  const script = join(p.dir, 'throws.mts');
  writeFileSync(script, `import { createCluster } from ${JSON.stringify(join(REPO, 'src/pg/cluster.ts'))};
const c = await createCluster({ name: 'prodguard-test-crash' });
console.log(JSON.stringify({ dir: c.baseDir, port: c.port }));
throw new Error('test body failed');`);
  const r = spawnSync(process.execPath, ['--import', TSX, script], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  const { dir, port } = JSON.parse(r.stdout.trim().split('\n')[0]) as { dir: string; port: number };
  assert.equal(existsSync(dir), false, 'data directory removed');
  assert.equal(await portOpen(port), false, 'server stopped');
  p.cleanup();
});

test('without PostgreSQL binaries createCluster fails with a usage error and leaves no directory behind', async () => {
  const { readdirSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { UsageError } = await import('../../src/errors.js');
  const name = `prodguard-test-nobin-${process.pid}`;
  const saved = process.env.PG_BIN;
  process.env.PG_BIN = '/nonexistent/pg/bin';
  try {
    await assert.rejects(createCluster({ name }), (err: unknown) => err instanceof UsageError && /initdb" not found in PG_BIN/.test((err as Error).message));
  } finally {
    if (saved === undefined) delete process.env.PG_BIN;
    else process.env.PG_BIN = saved;
  }
  assert.deepEqual(readdirSync(tmpdir()).filter((d) => d.startsWith(name)), []);
});
