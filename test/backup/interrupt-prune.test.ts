import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { backupFixture } from './fixture.js';
import { CLI, TSX } from '../helpers/cli.js';
import { decideRetention } from '../../src/backup/retention.js';
import type { BackupManifest } from '../../src/backup/index.js';

// Enough data (~20 MB) that a dump takes a moment, so a kill lands mid-stream.
const fx = backupFixture('interrupt', {
  extraSql: `CREATE TABLE public.bulk AS SELECT g AS id, md5(random()::text) || md5(random()::text) AS a, md5(random()::text) AS b FROM generate_series(1, 200000) g`,
});

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** Starts `backup create`, SIGKILLs it when `when()` first holds (polled every 5 ms). */
async function killBackupWhen(when: () => boolean, label: string): Promise<void> {
  const f = fx();
  const child = spawn(process.execPath, ['--import', TSX, CLI, 'backup', 'create', '--env', 'production', '--quiet'], {
    cwd: f.dir,
    env: { ...process.env, ...f.env },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let killed = false;
  const timer = setInterval(() => {
    if (!killed && when()) {
      killed = true;
      child.kill('SIGKILL');
    }
  }, 5);
  const code = await exited;
  clearInterval(timer);
  assert.ok(killed, `${label}: the backup finished (exit ${code}) before the kill point was reached`);
}

async function listed(): Promise<BackupManifest[]> {
  const f = fx();
  const sync = await f.cli(['backup', 'sync-catalog', '--json']);
  assert.equal(sync.code, 0, sync.stderr);
  return JSON.parse((await f.cli(['backup', 'list', '--json'])).stdout) as BackupManifest[];
}

test('kill -9 during start-up leaves no listed backup', async () => {
  const start = Date.now();
  await killBackupWhen(() => Date.now() - start > 400, 'start-up');
  assert.deepEqual(await listed(), []);
});

test('kill -9 while the dump streams to the destinations leaves no listed backup', async () => {
  const f = fx();
  await killBackupWhen(() => filesUnder(f.localPath).some((p) => p.includes('.tmp-')), 'mid-stream');
  assert.deepEqual(await listed(), []);
  assert.equal(filesUnder(f.localPath).some((p) => p.endsWith('manifest.json')), false);
});

test('kill -9 right after the dump object is complete (before the manifest) leaves no listed half-backup', async () => {
  const f = fx();
  await killBackupWhen(() => filesUnder(f.localPath).some((p) => p.endsWith('dump.pgcustom.age')), 'after dump object');
  // Whatever got listed must be complete: every listed backup verifies.
  for (const m of await listed()) {
    const v = await f.cli(['backup', 'verify', m.id, '--json']);
    assert.equal(v.code, 0, `listed backup ${m.id} must be whole: ${v.stdout}`);
  }
});

test('after the kills a new backup succeeds, and prune removes the leftovers but not the backup', async () => {
  const f = fx();
  const r = await f.cli(['backup', 'create', '--env', 'production', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const id = (JSON.parse(r.stdout) as { id: string }).id;
  assert.ok((await listed()).some((m) => m.id === id));
  const p = await f.cli(['backup', 'prune', '--yes', '--grace', '0s', '--json']);
  assert.equal(p.code, 0, p.stderr);
  const res = JSON.parse(p.stdout) as { leftovers: Array<{ key: string }> };
  assert.ok(res.leftovers.length > 0, 'the killed runs left something to clean');
  assert.equal(filesUnder(f.localPath).some((x) => x.includes('.tmp-')), false);
  const v = await f.cli(['backup', 'verify', id, '--json']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.equal(JSON.parse(v.stdout).ok, true);
});

test('prune without --yes or --dry-run refuses with a usage error', async () => {
  const r = await fx().cli(['backup', 'prune']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--dry-run to see what would go, then --yes/);
});

test('prune applies GFS: deletes the surplus backup everywhere, manifest first, and keeps the newest verified one', async () => {
  const f = fx();
  const before = (await listed()).map((m) => m.id);
  const verifiedId = before[0];
  const mk = async () => (JSON.parse((await f.cli(['backup', 'create', '--env', 'production', '--json'])).stdout) as { id: string }).id;
  const surplus = await mk();
  const newest = await mk();
  // daily: 2 but all on one day → the day keeps only its newest; the verified one stays anyway.
  const dry = JSON.parse((await f.cli(['backup', 'prune', '--dry-run', '--json'])).stdout) as { removed: Array<{ id: string }>; keep: Array<{ id: string; why: string[] }> };
  assert.deepEqual(dry.removed.map((b) => b.id).sort(), [surplus]);
  assert.ok(dry.keep.find((k) => k.id === verifiedId)!.why.includes('newest verified backup'));
  assert.ok(dry.keep.some((k) => k.id === newest));
  assert.ok(existsSync(join(f.localPath, 'production', surplus, 'manifest.json')), 'dry run removes nothing');
  const real = await f.cli(['backup', 'prune', '--yes', '--json']);
  assert.equal(real.code, 0, real.stderr);
  assert.equal(existsSync(join(f.localPath, 'production', surplus)), false);
  assert.equal(existsSync(join(f.s3Dir, 'b', 'prodguard', 'production', surplus, 'manifest.json._S3rver_object')), false);
  assert.deepEqual((await listed()).map((m) => m.id).sort(), [verifiedId, newest].sort());
});

test('the GFS policy keeps one backup per day, week and month, and everything younger than minAge', () => {
  const mk = (id: string, startedAt: string, verified = false) =>
    ({ id, environment: 'production', startedAt, ...(verified ? { verified: { ok: true, at: startedAt, durationMs: 1, problems: [] } } : {}) }) as BackupManifest;
  const backups = [
    mk('d1a', '2026-11-25T03:00:00Z'),
    mk('d1b', '2026-11-25T01:00:00Z'),
    mk('d2', '2026-11-24T03:00:00Z'),
    mk('d3', '2026-11-23T03:00:00Z'),
    mk('w2', '2026-11-16T03:00:00Z'),
    mk('m2', '2026-10-10T03:00:00Z'),
    mk('old', '2026-01-05T03:00:00Z', true),
    mk('older', '2025-12-05T03:00:00Z'),
  ];
  const d = decideRetention(backups, { daily: 2, weekly: 2, monthly: 2, minAgeMs: 0 }, new Date('2026-11-25T04:00:00Z'));
  assert.deepEqual(d.remove.map((b) => b.id).sort(), ['d1b', 'd3', 'older']);
  assert.deepEqual(d.keep.find((k) => k.id === 'old')!.why, ['newest verified backup']);
  const young = decideRetention(backups, { daily: 0, weekly: 0, monthly: 0, minAgeMs: 2 * 3600_000 }, new Date('2026-11-25T04:00:00Z'));
  assert.deepEqual(young.keep.map((k) => k.id).sort(), ['d1a', 'old']);
});

test("a running verify or drill cluster in the temp dir is another process's work in progress, never a leftover to prune", async () => {
  const { createCluster } = await import('../../src/pg/cluster.js');
  const { findLocalLeftovers, removeLocalLeftovers } = await import('../../src/backup/private-dir.js');
  const { dirname } = await import('node:path');
  const c = await createCluster({ name: 'prodguard-verify' });
  try {
    const mine = findLocalLeftovers(dirname(c.baseDir)).find((l) => l.path === c.baseDir);
    assert.ok(mine, 'the cluster directory is seen');
    assert.equal(mine.running, true);
    assert.deepEqual(removeLocalLeftovers([mine], 0), []);
    assert.ok(existsSync(join(c.baseDir, 'data')), 'still there');
  } finally {
    await c.stop('immediate');
  }
  const after = findLocalLeftovers(dirname(c.baseDir)).find((l) => l.path === c.baseDir)!;
  assert.equal(after.running, false, 'once its server is gone it is a leftover (plaintext may be inside)');
  assert.deepEqual(removeLocalLeftovers([after], 0), [c.baseDir]);
  assert.equal(existsSync(c.baseDir), false);
});
