/**
 * PITR against a primary configured like a real server, not like prodguard's throw-away clusters:
 * PostgreSQL's defaults (shared_buffers 128MB, synchronous commits, fsync) with max_connections=150
 * and raised lock/prepared-transaction/worker settings. Before the fix the recovering server ran
 * with max_connections=50 and PostgreSQL refused hot-standby recovery.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { sharedCluster, sql } from '../helpers/pg.js';
import { pitrProject, switchAndWaitArchived, commitRow } from './pitr-helpers.js';
import { contextFrom } from '../../src/context.js';
import { loadConfig } from '../../src/config/load.js';
import { makeServerDir } from '../../src/pg/cluster.js';
import { pitrRestore, parseTarget } from '../../src/restore/pitr/restore.js';
import { startStreaming } from '../../src/restore/pitr/stream.js';
import { fatalWithContext, parseControlData } from '../../src/restore/pitr/control-settings.js';

const cluster = sharedCluster({
  name: 'prodguard-pitr-real',
  durable: true,
  settings: { max_connections: 150, shared_buffers: '128MB', max_locks_per_transaction: 128, max_prepared_transactions: 5, max_worker_processes: 12 },
});

test('control data and log parsing', () => {
  const s = parseControlData('max_connections setting:              150\nmax_worker_processes setting:         12\nmax_wal_senders setting:              10\nmax_prepared_xacts setting:           5\nmax_locks_per_xact setting:           128\nwal_level setting:                    replica\n');
  assert.deepEqual(s, { max_connections: 150, max_worker_processes: 12, max_wal_senders: 10, max_prepared_transactions: 5, max_locks_per_transaction: 128 });
  const log = [
    '2026-11-26 09:00:00.000 UTC [1] WARNING:  hot standby is not possible because of insufficient parameter settings',
    '2026-11-26 09:00:00.000 UTC [1] DETAIL:  max_connections = 50 is a lower setting than on the primary server, where its value was 150.',
    '2026-11-26 09:00:00.000 UTC [1] FATAL:  recovery aborted because of insufficient parameter settings',
    '2026-11-26 09:00:00.000 UTC [1] DETAIL:  max_connections = 50 is a lower setting than on the primary server, where its value was 150.',
    '2026-11-26 09:00:00.000 UTC [1] HINT:  You can restart the server after making the necessary configuration changes.',
  ].join('\n');
  const msg = fatalWithContext(log)!;
  assert.match(msg, /^recovery aborted because of insufficient parameter settings DETAIL: max_connections = 50 is a lower setting .* 150\. HINT: You can restart/);
});

test('PITR on a default-configured primary with max_connections=150: to the newest archived commit by --time, and --latest', async (t) => {
  const c = cluster();
  const p = await pitrProject(c, 'archive-command');
  t.after(p.cleanup);
  const cli = (args: string[]) => runCli(args, { cwd: p.dir, env: p.env });
  const restoreDirs: string[] = [];
  t.after(() => restoreDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  const en = await cli(['pitr', 'enable', '--env', 'production', '--json']);
  assert.equal(en.code, 0, en.stderr);
  const enabled = JSON.parse(en.stdout);
  assert.equal(enabled.archiveTimeoutSeconds, 60, 'archive_timeout bounds the RPO (default 60 s)');
  assert.match(enabled.rpo, /at most 60 s/);
  await c.stop();
  await c.start();
  const url = c.url();
  assert.equal((await sql<{ v: string }>(url, "SELECT current_setting('max_connections') AS v"))[0].v, '150');
  assert.equal((await sql<{ v: string }>(url, "SELECT current_setting('archive_timeout') AS v"))[0].v, '1min');
  await sql(url, 'CREATE TABLE ledger (id int PRIMARY KEY)');
  const base = await cli(['pitr', 'base-backup', '--env', 'production']);
  assert.equal(base.code, 0, base.stderr);
  for (let i = 1; i <= 3; i++) await commitRow(url, i);
  await switchAndWaitArchived(url);

  const st = await cli(['pitr', 'status', '--env', 'production', '--json']);
  const newest = JSON.parse(st.stdout).latest as string;
  assert.ok(newest, st.stdout);

  const ctx = contextFrom(loadConfig({ cwd: p.dir }));
  t.after(() => ctx.close());
  for (const target of [parseTarget({ time: newest.replace('T', ' ').replace(/Z$/, '+00') }), parseTarget({ latest: true })]) {
    const to = join(makeServerDir('pg-pitr-real'), 'data');
    restoreDirs.push(join(to, '..'));
    const r = await pitrRestore(ctx, { environment: 'production', target, to, keepRunning: true, env: p.env });
    try {
      const rows = await sql<{ id: number }>(r.cluster!.url(), 'SELECT id FROM ledger ORDER BY id');
      assert.deepEqual(rows.map((x) => x.id), [1, 2, 3], `${target.kind}: every commit restored`);
      assert.equal(r.lastReplayedCommit, newest);
      assert.equal((await sql<{ v: string }>(r.cluster!.url(), "SELECT current_setting('max_connections') AS v"))[0].v, '150');
      assert.equal((await sql<{ v: string }>(r.cluster!.url(), "SELECT current_setting('max_locks_per_transaction') AS v"))[0].v, '128');
    } finally {
      await r.cluster!.destroy();
    }
  }
});

test('streaming survives a primary restart: the receiver reconnects, records the gap, and --latest has every commit', async (t) => {
  const c = cluster();
  // Back to streaming only (the previous test archived with archive_command).
  await sql(c.url(), `ALTER SYSTEM SET archive_mode = off`);
  await sql(c.url(), `ALTER SYSTEM RESET archive_command`);
  await c.stop();
  await c.start();
  const p = await pitrProject(c, 'streaming');
  t.after(p.cleanup);
  const cli = (args: string[]) => runCli(args, { cwd: p.dir, env: p.env });
  assert.equal((await cli(['pitr', 'enable', '--env', 'production'])).code, 0);
  const ctx = contextFrom(loadConfig({ cwd: p.dir }));
  t.after(() => ctx.close());
  const h = await startStreaming(ctx, 'production', { env: p.env, intervalMs: 200, backoff: { initialMs: 200, maxMs: 1000 } });
  t.after(() => h.stop());
  const url = c.url();
  await sql(url, 'CREATE TABLE stream_ledger (id int PRIMARY KEY)');
  assert.equal((await cli(['pitr', 'base-backup', '--env', 'production'])).code, 0);
  await sql(url, 'INSERT INTO stream_ledger VALUES (1), (2)');

  // The primary restarts while streaming (e.g. a minor upgrade): the receiver must come back.
  await c.stop();
  await new Promise((r) => setTimeout(r, 700));
  await c.start();
  const deadline = Date.now() + 30_000;
  while ((h.gaps.length === 0 || h.state() !== 'connected') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal(h.state(), 'connected', `reconnected (gaps: ${JSON.stringify(h.gaps)})`);
  assert.equal(h.gaps.length, 1);
  assert.ok(h.gaps[0].to && h.gaps[0].to >= h.gaps[0].from);
  await sql(url, 'INSERT INTO stream_ledger VALUES (3), (4)');
  // Wait until the receiver has flushed everything the server wrote.
  for (let i = 0; i < 100; i++) {
    const [row] = await sql<{ lag: string | null }>(url, `SELECT (pg_current_wal_lsn() - flush_lsn)::text AS lag FROM pg_stat_replication`);
    if (row && row.lag === '0') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const st = await cli(['pitr', 'status', '--env', 'production', '--json']);
  assert.equal(st.code, 0, st.stderr);
  const status = JSON.parse(st.stdout);
  assert.equal(status.receiver.state, 'connected');
  assert.equal(status.receiver.gaps.length, 1);

  const to = join(makeServerDir('pg-pitr-real-stream'), 'data');
  t.after(() => rmSync(join(to, '..'), { recursive: true, force: true }));
  const r = await pitrRestore(ctx, { environment: 'production', target: parseTarget({ latest: true }), to, keepRunning: true, env: p.env });
  try {
    const rows = await sql<{ id: number }>(r.cluster!.url(), 'SELECT id FROM stream_ledger ORDER BY id');
    assert.deepEqual(rows.map((x) => x.id), [1, 2, 3, 4]);
  } finally {
    await r.cluster!.destroy();
  }
  await h.stop();
  const stopped = await cli(['pitr', 'status', '--env', 'production', '--json']);
  assert.equal(stopped.code, 1, 'a streaming setup without a connected receiver is not healthy');
  assert.match(stopped.stderr, /streaming receiver is not connected/);
  await sql(url, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots`);
});
