import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { sharedCluster, sql } from '../helpers/pg.js';
import { pitrProject, commitRow } from './pitr-helpers.js';
import { contextFrom } from '../../src/context.js';
import { loadConfig } from '../../src/config/load.js';
import { makeServerDir } from '../../src/pg/cluster.js';
import { startStreaming } from '../../src/restore/pitr/stream.js';
import { pitrRestore, parseTarget } from '../../src/restore/pitr/restore.js';

const cluster = sharedCluster({ name: 'prodguard-pitr-stream' });

test('streaming: pg_receivewal keeps up, a restore uses the segment still being received, completed segments are shipped', async (t) => {
  const c = cluster();
  const p = await pitrProject(c, 'streaming', '  destinations:\n    - { name: offsite, type: local, path: offsite }\n');
  t.after(p.cleanup);
  const cli = (args: string[]) => runCli(args, { cwd: p.dir, env: p.env });
  const en = await cli(['pitr', 'enable', '--env', 'production', '--json']);
  assert.equal(en.code, 0, en.stderr);
  assert.equal(JSON.parse(en.stdout).restartRequired, false, 'streaming needs no restart');

  const ctx = contextFrom(loadConfig({ cwd: p.dir }));
  t.after(() => ctx.close());
  const shipped: string[] = [];
  const h = await startStreaming(ctx, 'production', { env: p.env, onShip: (n) => shipped.push(n), intervalMs: 200 });
  t.after(() => h.stop());
  const url = c.url();
  await sql(url, 'CREATE TABLE ledger (id int PRIMARY KEY)');
  assert.equal((await cli(['pitr', 'base-backup', '--env', 'production'])).code, 0);
  const after: string[] = [];
  for (let i = 1; i <= 3; i++) {
    after.push(await commitRow(url, i));
    await sql(url, 'SELECT pg_sleep(0.3)');
  }
  await sql(url, 'DROP TABLE ledger');

  // The receiver is connected and flushed up to (nearly) the server's position: sub-second RPO.
  const deadline = Date.now() + 10_000;
  let st: any;
  for (;;) {
    st = JSON.parse((await cli(['pitr', 'status', '--env', 'production', '--json'])).stdout);
    if (st.server?.streaming?.active && st.server.streaming.lagBytes === 0) break;
    assert.ok(Date.now() < deadline, `receiver did not catch up: ${JSON.stringify(st.server)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(st.spoolPartial, 'the segment being filled is in the spool');

  const to = join(makeServerDir('pg-pitr-stream-restore'), 'data');
  t.after(() => rmSync(join(to, '..'), { recursive: true, force: true }));
  const target = new Date(new Date(after[1]).getTime() + 100).toISOString().replace('T', ' ');
  const progress: string[] = [];
  const r = await pitrRestore(ctx, { environment: 'production', target: parseTarget({ time: target }), to, keepRunning: true, env: p.env, onProgress: (l) => progress.push(l) });
  assert.match(progress.join('\n'), /using the streaming receiver's segment in progress/);
  try {
    const rows = await sql<{ id: number }>(r.cluster!.url(), 'SELECT id FROM ledger ORDER BY id');
    assert.deepEqual(rows.map((x) => x.id), [1, 2]);
  } finally {
    await r.cluster!.destroy();
    rmSync(r.cluster!.baseDir, { recursive: true, force: true });
  }

  // Completing the segment ships it into the encrypted archive.
  const [{ name }] = await sql<{ name: string }>(url, 'SELECT pg_walfile_name(pg_switch_wal()) AS name');
  for (let i = 0; i < 100 && !shipped.includes(name); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(shipped.includes(name), `${name} shipped (got ${shipped.join(',')})`);
  assert.equal(st.spoolPartial.startsWith(name), true, 'the shipped segment is the one that was in progress');

  // Every archived file is also on the backup destination; a lost local archive is rebuilt from it.
  const offsite = join(p.dir, 'offsite', 'pitr', 'production');
  assert.ok(existsSync(join(offsite, 'wal', `${name}.age`)) && existsSync(join(offsite, 'wal', `${name}.json`)));
  // Stop the receiver first: a segment shipped between the two status calls would change the count.
  await h.stop();
  const before = JSON.parse((await cli(['pitr', 'status', '--env', 'production', '--json'])).stdout);
  rmSync(p.storeDir.replace(/production$/, 'production/wal'), { recursive: true });
  rmSync(p.storeDir.replace(/production$/, 'production/base'), { recursive: true });
  const pulled = await cli(['pitr', 'pull', '--env', 'production', '--from', 'offsite', '--json']);
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.ok(JSON.parse(pulled.stdout).copied >= 4);
  const afterPull = JSON.parse((await cli(['pitr', 'status', '--env', 'production', '--json'])).stdout);
  assert.equal(afterPull.segments, before.segments);
  assert.equal(afterPull.baseBackups, 1);
  assert.equal(afterPull.earliest, before.earliest);
});
