/**
 * Recovery benchmarks, each against the plain tool in the same run:
 * 1. `prodguard restore` (catalog → download → sha256 → decrypt → pg_restore -j → row-count check)
 *    versus bare `pg_restore -j` of the same (already decrypted) dump. Goal ≤ 1.10×.
 * 2. PITR replay throughput: MB of WAL replayed per second by `pitr restore` (recovery phase).
 * 3. Archiving lag with streaming (pg_receivewal --synchronous) under a pgbench write load:
 *    pg_stat_replication.flush_lag sampled every 100 ms. Goal < 1 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import type { BenchResult, BenchRow } from './run.js';
import { createCluster, makeServerDir } from '../src/pg/cluster.js';
import { withClient } from '../src/pg/client.js';
import { runPgTool } from '../src/pg/run-tool.js';
import { contextFrom } from '../src/context.js';
import { loadConfig } from '../src/config/load.js';
import { createBackup } from '../src/backup/create.js';
import { materializeBackup } from '../src/backup/materialize.js';
import { restoreBackup } from '../src/restore/restore.js';
import { enablePitr } from '../src/restore/pitr/enable.js';
import { startStreaming } from '../src/restore/pitr/stream.js';
import { createBaseBackup } from '../src/restore/pitr/base-backup.js';
import { pitrRestore, parseTarget } from '../src/restore/pitr/restore.js';
import { parseLsn } from '../src/restore/pitr/wal.js';
import { writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { quick } from './quick.js';

/** `npm run bench -- --quick` runs this bench at small sizes (bench/quick.ts). */
export const quickSupported = true;

const q = (url: string, text: string) => withClient(url, async (c) => (await c.query(text)).rows as any[]);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run(): Promise<BenchResult> {
  const rows: BenchRow[] = [];
  const src = await createCluster({ name: 'bench-restore-src', settings: { max_wal_size: '1GB' } });
  const dst = await createCluster({ name: 'bench-restore-dst' });
  const dir = mkdtempSync(join(tmpdir(), 'bench-restore-'));
  chmodSync(dir, 0o755);
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'prodguard.yaml'), `version: 1
environments:
  staging: { kind: staging, urlEnv: STAGING_DATABASE_URL }
  production: { kind: production, urlEnv: PRODUCTION_DATABASE_URL }
backup:
  jobs: 2
  encryption: { recipients: [${recipient}] }
  destinations: [{ name: local, type: local, path: backups }]
pitr: { method: streaming, walDir: wal }
`);
  Object.assign(process.env, { PRODUCTION_DATABASE_URL: src.url(), STAGING_DATABASE_URL: dst.url(), PRODGUARD_AGE_IDENTITY: identity });
  const ctx = contextFrom(loadConfig({ cwd: dir }));
  try {
    // ---- 1. restore vs bare pg_restore -j
    await runPgTool('pgbench', ['-i', '-s', quick ? '2' : '20', '-q', src.url()]);
    const backup = await createBackup(ctx, { env: 'production', reason: 'bench' });
    const dumpDir = mkdtempSync(join(tmpdir(), 'bench-dump-'));
    const m = await materializeBackup(ctx, backup.id, dumpDir, { env: 'production' });
    const bare: number[] = [];
    const ours: number[] = [];
    for (let i = 0; i < 5; i++) {
      // Both sides create their database inside the timing: prodguard restore does it too.
      let t = Date.now();
      await q(dst.url(), `CREATE DATABASE bare_${i}`);
      await runPgTool('pg_restore', ['--no-owner', '--exit-on-error', '-j', '2', '-d', dst.url(`bare_${i}`), m.dumpPath]);
      bare.push(Date.now() - t);
      t = Date.now();
      await restoreBackup(ctx, { backup: backup.id, to: 'staging', newDatabase: `ours_${i}`, jobs: 2, unmasked: true });
      ours.push(Date.now() - t);
    }
    rmSync(dumpDir, { recursive: true, force: true });
    const { countRowsParallel } = await import('../src/restore/verify-counts.js');
    const tc = Date.now();
    await countRowsParallel(dst.url('ours_0'), 2);
    const countMs = Date.now() - tc;
    const ratio = median(ours) / median(bare);
    rows.push({ subject: 'createdb + bare pg_restore -j 2 (decrypted dump already on disk)', value: median(bare) / 1000, unit: 's', note: 'median of 5' });
    rows.push({ subject: 'prodguard restore --jobs 2 (fetch + sha256 + decrypt + pg_restore + row counts)', value: median(ours) / 1000, unit: 's', note: `median of 5; ${ratio.toFixed(2)}× bare` });
    rows.push({ subject: '… of which: exact row-count verification of the restored database', value: countMs / 1000, unit: 's', note: 'count(*) per table over 2 connections; the bare tool verifies nothing' });

    // ---- 3. streaming lag under pgbench load (also produces the WAL for 2.)
    await enablePitr(ctx, 'production');
    const stream = await startStreaming(ctx, 'production', { intervalMs: 200 });
    await createBaseBackup(ctx, 'production');
    const [{ lsn: startLsn }] = await q(src.url(), 'SELECT pg_current_wal_lsn()::text AS lsn');
    const lags: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [r] = await q(src.url(), `SELECT extract(epoch FROM coalesce(flush_lag, '0'))::float8 AS lag FROM pg_stat_replication WHERE application_name = 'pg_receivewal'`).catch(() => [null]);
        if (r) lags.push(Number(r.lag));
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    const pgb = await runPgTool('pgbench', ['-c', '2', '-j', '1', '-T', '15', '-n', src.url()]);
    const tps = Number(/tps = ([\d.]+)/.exec(pgb.stdout)?.[1] ?? 0);
    sampling = false;
    await sampler;
    await new Promise((r) => setTimeout(r, 1500));
    const [{ t: target, lsn: endLsn }] = await q(src.url(), `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' AS t, pg_current_wal_lsn()::text AS lsn`);
    await q(src.url(), 'CREATE TABLE after_target (x int); INSERT INTO after_target VALUES (1)');
    await q(src.url(), 'SELECT pg_switch_wal()');
    await new Promise((r) => setTimeout(r, 1000));
    await stream.stop();
    const sorted = [...lags].sort((a, b) => a - b);
    const p95 = sorted[Math.floor(sorted.length * 0.95)] ?? NaN;
    const maxLag = sorted[sorted.length - 1] ?? NaN;
    rows.push({ subject: 'streaming archive lag under pgbench (flush_lag), p95', value: p95, unit: 's', note: `${lags.length} samples, pgbench -c 2 -T 15 at ${tps.toFixed(0)} tps` });
    rows.push({ subject: 'streaming archive lag under pgbench (flush_lag), max', value: maxLag, unit: 's' });

    // ---- 2. PITR replay throughput
    const to = join(makeServerDir('bench-pitr'), 'data');
    const r = await pitrRestore(ctx, { environment: 'production', target: parseTarget({ time: target }), to });
    const walMb = Number(parseLsn(endLsn) - parseLsn(startLsn)) / 1e6;
    rows.push({ subject: 'pitr restore: WAL replayed (base backup end → target)', value: walMb, unit: 'MB', note: `${r.segments} segments fetched+decrypted` });
    rows.push({ subject: 'pitr restore: replay throughput (recovery phase)', value: walMb / (r.replayMs / 1000), unit: 'MB/s', note: `replay ${(r.replayMs / 1000).toFixed(1)} s, whole restore ${(r.durationMs / 1000).toFixed(1)} s` });
    rmSync(join(to, '..'), { recursive: true, force: true });

    return {
      name: 'restore',
      title: 'Restore and point-in-time recovery',
      goal: 'prodguard restore ≤ 1.10× bare pg_restore -j; streaming archive lag < 1 s under write load',
      met: ratio <= 1.1 && maxLag < 1,
      rows,
      setup: `pgbench scale ${quick ? '2 (quick)' : '20 (~300 MB on disk, 2M rows in pgbench_accounts)'}, custom-format dump encrypted with age into a local destination; restore and pg_restore with 2 jobs; two throw-away clusters on one machine`,
    };
  } finally {
    await ctx.close();
    await src.destroy();
    await dst.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
