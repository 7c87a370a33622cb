import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runCommand } from '../../src/pg/run-tool.js';
import { pgBin } from '../../src/pg/binaries.js';
import { serverOsUser, makeServerDir } from '../../src/pg/cluster.js';
import { runCli } from '../helpers/cli.js';
import { sharedCluster, sql } from '../helpers/pg.js';
import { pitrProject, switchAndWaitArchived, commitRow } from './pitr-helpers.js';
import { contextFrom } from '../../src/context.js';
import { loadConfig } from '../../src/config/load.js';
import { pitrRestore, parseTarget } from '../../src/restore/pitr/restore.js';

const cluster = sharedCluster({ name: 'prodguard-pitr-src' });

/** Microseconds-free midpoint arithmetic on ISO strings. */
function addMs(iso: string, ms: number): string {
  return new Date(new Date(iso).getTime() + ms).toISOString();
}

test('point-in-time recovery: archive, base backup, restore to a time / an LSN, gaps refused by name', async (t) => {
  const c = cluster();
  const p = await pitrProject(c, 'archive-command');
  t.after(p.cleanup);
  const cli = (args: string[]) => runCli(args, { cwd: p.dir, env: p.env });
  const restoreDirs: string[] = [];
  t.after(() => restoreDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  const enabled = await cli(['pitr', 'enable', '--env', 'production', '--json']);
  assert.equal(enabled.code, 0, enabled.stderr);
  const en = JSON.parse(enabled.stdout);
  assert.equal(en.restartRequired, true, 'archive_mode needs a restart');
  assert.match(en.archiveCommand, /pitr archive-wal %p %f --env production/);
  await c.stop();
  await c.start();
  const url = c.url();
  assert.equal((await sql<{ archive_mode: string }>(url, 'SHOW archive_mode'))[0].archive_mode, 'on');

  await sql(url, 'CREATE TABLE ledger (id int PRIMARY KEY)');
  const base = await cli(['pitr', 'base-backup', '--env', 'production', '--json']);
  assert.equal(base.code, 0, base.stderr);
  assert.match(JSON.parse(base.stdout).startLsn, /^[0-9A-F]+\/[0-9A-F]+$/);

  // Six commits, each in its own transaction, 300 ms apart, spread over several WAL segments.
  const after: string[] = [];
  let lsnAfter3 = '';
  const xids = new Map<number, string>();
  for (let i = 1; i <= 6; i++) {
    after.push(await commitRow(url, i, xids));
    // The insert position, not pg_current_wal_lsn(): throw-away clusters commit asynchronously, so the
    // write position can still be before commit 3's record.
    if (i === 3) lsnAfter3 = (await sql<{ lsn: string }>(url, 'SELECT pg_current_wal_insert_lsn()::text AS lsn'))[0].lsn;
    if (i === 2 || i === 4) await switchAndWaitArchived(url);
    await sql(url, 'SELECT pg_sleep(0.3)');
  }
  // The disaster, then make sure everything is archived.
  await sql(url, 'DELETE FROM ledger');
  await sql(url, 'DROP TABLE ledger');
  await switchAndWaitArchived(url);

  const loaded = loadConfig({ cwd: p.dir });
  const ctx = contextFrom(loaded);
  t.after(() => ctx.close());

  await t.test('a time between two commits: every commit before is present, none after', async () => {
    const target = addMs(after[2], 100); // after commit 3, ~200 ms before commit 4
    const to = join(makeServerDir('pg-pitr-restore'), 'data');
    restoreDirs.push(join(to, '..'));
    const r = await pitrRestore(ctx, { environment: 'production', target: parseTarget({ time: target.replace('T', ' ') }), to, keepRunning: true, env: p.env });
    try {
      assert.match(r.stoppedAt, /recovery stopping before commit/);
      const rows = await sql<{ id: number }>(r.cluster!.url(), 'SELECT id FROM ledger ORDER BY id');
      assert.deepEqual(rows.map((x) => x.id), [1, 2, 3]);
      assert.ok(r.lastReplayedCommit && r.lastReplayedCommit <= target.replace(/Z$/, '') + 'Z');
    } finally {
      await r.cluster!.destroy();
      rmSync(r.cluster!.baseDir, { recursive: true, force: true });
    }
  });

  await t.test('--lsn through the CLI: commits up to that WAL position, none after', async () => {
    const to = join(makeServerDir('pg-pitr-restore'), 'data');
    restoreDirs.push(join(to, '..'));
    const res = await cli(['pitr', 'restore', '--env', 'production', '--lsn', lsnAfter3, '--to', to, '--start', '--json']);
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout);
    try {
      assert.match(out.stoppedAt, /recovery stopping after WAL location/);
      const rows = await sql<{ id: number }>(`postgresql://postgres@127.0.0.1:${out.port}/postgres`, 'SELECT id FROM ledger ORDER BY id');
      assert.deepEqual(rows.map((x) => x.id), [1, 2, 3]);
    } finally {
      await runCommand(pgBin('pg_ctl'), ['-D', to, 'stop', '-m', 'immediate'], { asUser: serverOsUser(), allowFailure: true });
      rmSync(dirname(out.logFile), { recursive: true, force: true });
    }
  });

  await t.test('--before-xid stops just before that transaction', async () => {
    const to = join(makeServerDir('pg-pitr-restore'), 'data');
    restoreDirs.push(join(to, '..'));
    const r = await pitrRestore(ctx, { environment: 'production', target: parseTarget({ beforeXid: xids.get(5)! }), to, keepRunning: true, env: p.env });
    try {
      assert.match(r.stoppedAt, new RegExp(`recovery stopping before commit of transaction ${xids.get(5)}`));
      const rows = await sql<{ id: number }>(r.cluster!.url(), 'SELECT id FROM ledger ORDER BY id');
      assert.deepEqual(rows.map((x) => x.id), [1, 2, 3, 4]);
    } finally {
      await r.cluster!.destroy();
      rmSync(r.cluster!.baseDir, { recursive: true, force: true });
    }
  });

  await t.test('a non-empty --to directory is refused', async () => {
    const to = mkdtempSync(join(tmpdir(), 'pg-pitr-busy-'));
    restoreDirs.push(to);
    (await import('node:fs')).writeFileSync(join(to, 'keep.txt'), 'mine');
    const res = await cli(['pitr', 'restore', '--env', 'production', '--time', '2030-01-01 00:00:00+00', '--to', to]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /not empty/);
    assert.deepEqual(readdirSync(to), ['keep.txt']);
  });

  await t.test('a missing WAL segment is reported by name and restore past it refuses', async () => {
    const st0 = JSON.parse((await cli(['pitr', 'status', '--env', 'production', '--json'])).stdout);
    assert.deepEqual(st0.gaps, []);
    const { checks: recoveryChecks } = await import('../../src/status/checks/recovery.js');
    Object.assign(process.env, p.env); // status checks read the connection URL from the environment
    const ok = await recoveryChecks.find((x) => x.id === 'recovery.guarantees')!.run(ctx);
    assert.equal(ok.state, 'ok', ok.reason);
    assert.match(ok.reason, /production: PITR \(archive-command\) window .* → .*, archive lag \d+(\.\d)? (bytes|KiB|MiB|GiB)/);
    assert.ok(st0.earliest && st0.latest && st0.latest > st0.earliest);
    // Lose the segment that holds commits 3 and 4 (the one after the first switch).
    const walDir = join(p.storeDir, 'wal');
    const segs = readdirSync(walDir).filter((f) => /^[0-9A-F]{24}\.json$/.test(f)).map((f) => f.slice(0, 24)).sort();
    const { openPitrStore } = await import('../../src/restore/pitr/store.js');
    const store = await openPitrStore(loaded, 'production', null);
    const lost = segs.find((n) => (store.segmentMeta(n)!.minXid ?? 0) > 0 && store.segmentMeta(n)!.lastCommit!.time > after[2].slice(0, 19))!;
    assert.ok(lost, 'a segment with commits after commit 3 exists');
    for (const f of readdirSync(walDir).filter((f) => f.startsWith(lost))) rmSync(join(walDir, f));

    const st = await cli(['pitr', 'status', '--env', 'production', '--json']);
    // A gap loses recoverability: status says so with its exit code too (issue #15).
    assert.equal(st.code, 1, st.stderr);
    assert.match(st.stderr, new RegExp(`PITR for production is not healthy: 1 missing WAL segment\\(s\\), first ${lost}`));
    assert.deepEqual(JSON.parse(st.stdout).gaps, [lost]);
    const human = await cli(['pitr', 'status', '--env', 'production']);
    assert.match(human.stdout, new RegExp(`1 missing: ${lost}`));
    const { checks } = await import('../../src/status/checks/recovery.js');
    const rule2 = await checks.find((x) => x.id === 'recovery.guarantees')!.run(ctx);
    assert.equal(rule2.state, 'failing');
    assert.match(rule2.reason, new RegExp(`1 missing segment\\(s\\), first ${lost}`));

    const to = join(makeServerDir('pg-pitr-restore'), 'data');
    restoreDirs.push(join(to, '..'));
    const res = await cli(['pitr', 'restore', '--env', 'production', '--time', addMs(after[5], 10).replace('T', ' '), '--to', to]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, new RegExp(`needs WAL segment ${lost}, which is missing`));
    assert.ok(!existsSync(to) || readdirSync(to).length === 0, 'nothing restored');
  });
});
