/**
 * Recovery speed against the tools a DBA would pick, all in the same run on the same cluster
 * (issue #15): pgbench database (BENCH_SPEED_SCALE, default 40 ≈ 600 MB), N = backup.jobs auto
 * (the cores available, at most 4).
 *
 * pgbench's tables plus an application table (BENCH_SPEED_ORDERS rows, default 1,000,000; see ORDERS_FILL_SQL).
 *
 * 1. `createBackup()` (parallel directory dump compressed by pg_dump's workers at
 *    backup.compression, age-encrypted + hashed while pg_dump writes, streamed to a local folder,
 *    row counts from the dump's own data, roles + database properties) versus bare
 *    `pg_dump -Fd -j N -f dir` (pg_dump's default compression, level 6). Goal ≤ 1.10×. When
 *    backup.compression is not 6, bare pg_dump at that level is timed too, and the sizes of both
 *    are shown: the level is a size/speed trade-off, stated here, not hidden.
 * 2. `restoreBackup()` -j N (catalog → key check → create roles → streamed restore: pre-data,
 *    parallel COPY fed by the decrypting reader with sha256, post-data -j N → database properties →
 *    row-count check from COPY) versus bare `createdb` + `pg_restore -j N` of the same, already
 *    decrypted, directory dump. Goal ≤ 1.10×.
 * 3. pgBackRest (Debian package, installed here when missing) full physical backup and restore
 *    of the same cluster, shown beside them (a physical copy: different trade-offs, for scale).
 *
 * Each pair alternates, BENCH_SPEED_RUNS (default 5) runs each, every timed run starting from a
 * checkpoint and a `sync` (settle below); the ratio is of the medians (the machine is shared:
 * neighbours' load is recorded with every run).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import type { BenchResult, BenchRow } from './run.js';
import { createCluster, chownForServer } from '../src/pg/cluster.js';
import { withClient } from '../src/pg/client.js';
import { runCommand, runPgTool } from '../src/pg/run-tool.js';
import { contextFrom } from '../src/context.js';
import { loadConfig } from '../src/config/load.js';
import { createBackup } from '../src/backup/create.js';
import { materializeBackup } from '../src/backup/materialize.js';
import { restoreBackup } from '../src/restore/restore.js';
import { backupJobs } from '../src/backup/jobs.js';

/** `npm run bench -- --quick` runs this bench at small sizes: bench/run.ts sets its size variables small (bench/quick.ts). */
export const quickSupported = true;

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = process.hrtime.bigint();
  const r = await fn();
  return [Number(process.hrtime.bigint() - t) / 1e9, r];
}

/** pgBackRest from the Debian package; installed when missing (the bench runs as root in CI images). */
function ensurePgBackRest(): string | null {
  const which = spawnSync('sh', ['-c', 'command -v pgbackrest'], { encoding: 'utf8' });
  if (which.status === 0) return which.stdout.trim();
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-q', 'pgbackrest'], { env, stdio: 'ignore' });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], { env, stdio: 'ignore' });
    r = spawnSync('apt-get', ['install', '-y', '-q', 'pgbackrest'], { env, stdio: 'ignore' });
  }
  const again = spawnSync('sh', ['-c', 'command -v pgbackrest'], { encoding: 'utf8' });
  return again.status === 0 ? again.stdout.trim() : null;
}

/**
 * Before each timed run: the previous run's writes reach the disk (the kernel's dirty pages, the
 * server's dirty buffers) outside the timing, so no run pays for the one before it. Without this
 * the same restore took 3.3–4.9 s depending on where the writeback of the last one fell.
 */
async function settle(url: string): Promise<void> {
  await withClient(url, (c) => c.query('CHECKPOINT'));
  spawnSync('sync');
}

/**
 * pgbench's rows are blank-padded and compress about 60:1, which makes a dump of them unusually
 * cheap (600 MB in ~1 s) and leaves mostly fixed costs to compare. An application table beside
 * them (uuids, e-mails, free text, money, times, jsonb; about 2:1 under gzip) makes the bench
 * look like the databases prodguard backs up.
 */
const ORDERS_TABLE_SQL = `CREATE UNLOGGED TABLE orders (id bigint PRIMARY KEY, customer uuid NOT NULL, email text NOT NULL, note text, amount numeric(12,2) NOT NULL, created_at timestamptz NOT NULL, meta jsonb NOT NULL)`;
const ORDERS_FILL_SQL = `INSERT INTO orders SELECT g, gen_random_uuid(), 'customer' || g || '@example.com', md5(random()::text) || ' ' || md5(random()::text), round((random() * 1000)::numeric, 2), now() - random() * interval '1000 days', jsonb_build_object('sku', substr(md5(g::text), 1, 12), 'qty', (random() * 10)::int, 'gift', random() < 0.1) FROM generate_series(1, $1::int) g`;

async function dropDatabase(url: string, name: string): Promise<void> {
  await withClient(url, (c) => c.query(`DROP DATABASE IF EXISTS "${name}"`));
}

export async function run(): Promise<BenchResult> {
  const scale = Number(process.env.BENCH_SPEED_SCALE ?? 40);
  const runs = Number(process.env.BENCH_SPEED_RUNS ?? 5);
  const orders = Number(process.env.BENCH_SPEED_ORDERS ?? 1_000_000);
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const loads: number[] = [];
  const jobs = backupJobs('auto');
  const rows: BenchRow[] = [];
  const src = await createCluster({ name: 'bench-speed-src', durable: true, settings: { max_wal_size: '2GB', max_connections: 100 } });
  const dst = await createCluster({ name: 'bench-speed-dst' });
  const dir = mkdtempSync(join(tmpdir(), 'bench-speed-'));
  chmodSync(dir, 0o755);
  const identity = await generateIdentity();
  writeFileSync(join(dir, 'prodguard.yaml'), `version: 1
environments:
  staging: { kind: staging, urlEnv: STAGING_DATABASE_URL }
  production: { kind: production, urlEnv: PRODUCTION_DATABASE_URL }
backup:
  encryption: { recipients: [${await identityToRecipient(identity)}] }
  destinations: [{ name: local, type: local, path: backups }]
`);
  Object.assign(process.env, { PRODUCTION_DATABASE_URL: src.url(), STAGING_DATABASE_URL: dst.url(), PRODGUARD_AGE_IDENTITY: identity });
  const ctx = contextFrom(loadConfig({ cwd: dir }));
  try {
    const [genSecs] = await timed(async () => {
      await runPgTool('pgbench', ['-i', '-s', String(scale), '-q', '--unlogged-tables', src.url()]);
      await withClient(src.url(), async (c) => {
        if (orders > 0) {
          await c.query(ORDERS_TABLE_SQL);
          await c.query(ORDERS_FILL_SQL, [orders]);
        }
        for (const t of ['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history', ...(orders > 0 ? ['orders'] : [])]) await c.query(`ALTER TABLE ${t} SET LOGGED`);
        await c.query('CHECKPOINT');
      });
    });
    const dbMB = Number((await withClient(src.url(), (c) => c.query<{ s: string }>('SELECT pg_database_size(current_database())::text AS s'))).rows[0].s) / 2 ** 20;

    // ---- 1. backup: bare pg_dump -Fd -j N vs createBackup (directory, -j N)
    const bareDir = join(dir, 'bare.d');
    const level = ctx.loaded.config.backup.compression;
    const bare: number[] = [];
    const bareAtLevel: number[] = [];
    const ours: number[] = [];
    let lastId = '';
    let bareBytes = 0;
    let bareLevelBytes = 0;
    let oursBytes = 0;
    const dirBytes = (d: string) => readdirSync(d).reduce((n, f) => n + statSync(join(d, f)).size, 0);
    for (let i = 0; i < runs; i++) {
      rmSync(bareDir, { recursive: true, force: true });
      await settle(src.url());
      const [b] = await timed(() => runPgTool('pg_dump', ['-Fd', '-j', String(jobs), '-f', bareDir, `--dbname=${src.url()}`]));
      bare.push(b);
      bareBytes = dirBytes(bareDir);
      await settle(src.url());
      const [o, r] = await timed(() => createBackup(ctx, { env: 'production', reason: 'bench' }));
      lastId = r.id;
      oursBytes = r.manifest.objects.reduce((n, x) => n + x.bytes, 0);
      ours.push(o);
      if (level !== 6) {
        rmSync(bareDir, { recursive: true, force: true });
        await settle(src.url());
        const [l] = await timed(() => runPgTool('pg_dump', ['-Fd', '-j', String(jobs), `-Z${level}`, '-f', bareDir, `--dbname=${src.url()}`]));
        bareAtLevel.push(l);
        bareLevelBytes = dirBytes(bareDir);
      }
      loads.push(loadavg()[0]);
    }
    const backupRatio = median(ours) / median(bare);
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    rows.push({ subject: `bare pg_dump -Fd -j ${jobs} → local dir (default compression, gzip level 6)`, value: +median(bare).toFixed(2), unit: 's', note: `median; runs ${bare.map((x) => x.toFixed(1)).join(', ')}; ${mib(bareBytes)}` });
    rows.push({ subject: `prodguard createBackup (directory -j ${jobs}, pg_dump gzip level ${level} in its workers; age + sha256 while pg_dump writes; rows counted from the dump in a worker thread; roles + db properties)`, value: +median(ours).toFixed(2), unit: 's', note: `median; runs ${ours.map((x) => x.toFixed(1)).join(', ')}; ${backupRatio.toFixed(2)}× bare (best ${(Math.min(...ours) / Math.min(...bare)).toFixed(2)}×); ${mib(oursBytes)} stored = ${(oursBytes / bareBytes).toFixed(2)}× bare's size` });
    if (level !== 6) rows.push({ subject: `bare pg_dump -Fd -j ${jobs} -Z${level} → local dir (prodguard's level, for the size/speed trade-off)`, value: +median(bareAtLevel).toFixed(2), unit: 's', note: `median; runs ${bareAtLevel.map((x) => x.toFixed(1)).join(', ')}; ${mib(bareLevelBytes)}; prodguard ${(median(ours) / median(bareAtLevel)).toFixed(2)}× this` });

    // ---- 2. restore: createdb + pg_restore -j N vs restoreBackup -j N
    const plainDir = mkdtempSync(join(tmpdir(), 'bench-speed-plain-'));
    const m = await materializeBackup(ctx, lastId, plainDir, { env: 'production' });
    const bareR: number[] = [];
    const oursR: number[] = [];
    for (let i = 0; i < runs; i++) {
      await settle(dst.url());
      const [b] = await timed(async () => {
        await runPgTool('createdb', [`--maintenance-db=${dst.url()}`, `bare_${i}`]);
        await runPgTool('pg_restore', ['--no-owner', '--exit-on-error', '-j', String(jobs), '-d', dst.url(`bare_${i}`), m.dumpPath]);
      });
      bareR.push(b);
      await dropDatabase(dst.url(), `bare_${i}`);
      await settle(dst.url());
      const [o] = await timed(() => restoreBackup(ctx, { backup: lastId, to: 'staging', newDatabase: `ours_${i}`, jobs, unmasked: true }));
      oursR.push(o);
      await dropDatabase(dst.url(), `ours_${i}`);
      loads.push(loadavg()[0]);
    }
    rmSync(plainDir, { recursive: true, force: true });
    const restoreRatio = median(oursR) / median(bareR);
    rows.push({ subject: `bare createdb + pg_restore -j ${jobs} (already decrypted directory dump)`, value: +median(bareR).toFixed(2), unit: 's', note: `median; runs ${bareR.map((x) => x.toFixed(1)).join(', ')}` });
    rows.push({ subject: `prodguard restoreBackup -j ${jobs} (key check, roles, streamed from the decrypting reader: pre-data, ${jobs} COPY sessions, post-data -j ${jobs}; sha256 per object, db properties, row counts from COPY)`, value: +median(oursR).toFixed(2), unit: 's', note: `median; runs ${oursR.map((x) => x.toFixed(1)).join(', ')}; ${restoreRatio.toFixed(2)}× bare (best ${(Math.min(...oursR) / Math.min(...bareR)).toFixed(2)}×)` });

    // ---- 3. pgBackRest full backup + restore of the same cluster
    const pgbr = ensurePgBackRest();
    if (!pgbr) {
      rows.push({ subject: 'pgBackRest (Debian package pgbackrest)', value: 0, unit: 's', note: 'not installable here (apt-get install pgbackrest failed); not measured' });
    } else {
      const br = mkdtempSync(join(tmpdir(), 'bench-speed-pgbr-'));
      chmodSync(br, 0o755);
      for (const d of ['repo', 'log', 'lock', 'spool']) mkdirSync(join(br, d));
      const conf = join(br, 'pgbackrest.conf');
      writeFileSync(conf, `[global]
repo1-path=${br}/repo
repo1-retention-full=2
log-path=${br}/log
lock-path=${br}/lock
spool-path=${br}/spool
log-level-console=warn
start-fast=y
process-max=${jobs}
compress-type=gz

[bench]
pg1-path=${src.dataDir}
pg1-port=${src.port}
pg1-socket-path=${src.baseDir}
`);
      chownForServer(br);
      chmodSync(br, 0o755);
      const as = { asUser: src.osUser };
      await withClient(src.url(), async (c) => {
        await c.query(`ALTER SYSTEM SET archive_mode = on`);
        await c.query(`ALTER SYSTEM SET archive_command = 'pgbackrest --config=${conf} --stanza=bench archive-push %p'`);
      });
      await src.stop();
      await src.start();
      await runCommand(pgbr, [`--config=${conf}`, '--stanza=bench', 'stanza-create'], as);
      const [brBackup] = await timed(() => runCommand(pgbr, [`--config=${conf}`, '--stanza=bench', '--type=full', 'backup'], as));
      const target = join(br, 'restored');
      mkdirSync(target, { mode: 0o700 });
      chownForServer(target);
      const [brRestore] = await timed(() => runCommand(pgbr, [`--config=${conf}`, '--stanza=bench', `--pg1-path=${target}`, '--type=immediate', '--target-action=promote', 'restore'], as));
      const version = (await runCommand(pgbr, ['version'])).stdout.trim();
      rows.push({ subject: `${version}: full physical backup (process-max ${jobs}, gz)`, value: +brBackup.toFixed(2), unit: 's', note: `${(brBackup / median(bare)).toFixed(2)}× bare pg_dump -Fd -j ${jobs}` });
      rows.push({ subject: `${version}: restore of that backup into a new data directory (files only; WAL replay at first start not included)`, value: +brRestore.toFixed(2), unit: 's', note: `${(brRestore / median(bareR)).toFixed(2)}× bare pg_restore -j ${jobs}` });
      if (existsSync(br)) rmSync(br, { recursive: true, force: true });
    }

    return {
      name: 'recovery-speed',
      title: 'Recovery speed: parallel backup / restore vs bare pg_dump -Fd -j N / pg_restore -j N, pgBackRest beside',
      goal: 'backup ≤ 1.10× bare pg_dump -Fd -j N and restore ≤ 1.10× bare pg_restore -j N',
      met: backupRatio <= 1.1 && restoreRatio <= 1.1,
      rows,
      setup: `pgbench scale ${scale} + ${orders.toLocaleString('en-US')} rows of an application table (orders: uuid, e-mail, text, numeric, timestamptz, jsonb): database ${dbMB.toFixed(0)} MiB (generated in ${genSecs.toFixed(0)} s); N = ${jobs} jobs; one local destination; medians of ${runs} alternating runs, each after a CHECKPOINT and a sync, on a shared 2-core machine (other sessions running; 1-min load average during the runs ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}); library calls (no CLI start-up)`,
    };
  } finally {
    await ctx.close();
    await src.destroy();
    await dst.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
