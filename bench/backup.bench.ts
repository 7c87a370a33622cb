/**
 * Backup benchmarks, each against the plain tool in the same run, on a generated database
 * (pgbench -i -s BENCH_BACKUP_SCALE; scale 70 ≈ 1 GB, the default; BENCH_BACKUP_SCALE=5 for a
 * quick run):
 * 1. `prodguard backup create` (the real CLI: encrypted with age, streamed to a local folder AND
 *    an S3-compatible server at once, row counts in the same snapshot) versus bare
 *    `pg_dump -Fc -f file`. Goal ≤ 1.10×.
 * 2. `prodguard backup verify` (sha256 of every copy on both destinations, download, decrypt,
 *    throw-away cluster, pg_restore, row-count comparison) versus bare `pg_restore` of the same
 *    dump into an empty database on an already running server.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchResult, BenchRow } from './run.js';
import { createCluster } from '../src/pg/cluster.js';
import { withClient } from '../src/pg/client.js';
import { runPgTool } from '../src/pg/run-tool.js';
import { generateKeyPair } from '../src/backup/encryption.js';
import { createBackup } from '../src/backup/create.js';
import { contextFrom } from '../src/context.js';
import { loadConfig } from '../src/config/load.js';

/** `npm run bench -- --quick` runs this bench at small sizes: bench/run.ts sets its size variables small (bench/quick.ts). */
export const quickSupported = true;

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TSX = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
/**
 * The CLI a user runs: dist/cli/main.js as `npm run build` leaves it. Only without a build (or
 * with one older than the sources) the TypeScript entry under tsx — which compiles every module
 * it loads at start-up (~0.4 s of a `backup create`, counted as CLI start-up by earlier runs).
 */
const BUILT = join(REPO, 'dist/cli/main.js');
/** dist/cli/main.js exists and no source under src/ is newer than it (else the build is stale). */
const builtIsFresh = (): boolean => {
  try {
    const built = statSync(BUILT).mtimeMs;
    const sources = readdirSync(join(REPO, 'src'), { recursive: true, withFileTypes: true });
    return sources.every((e) => !e.isFile() || statSync(join(e.parentPath ?? e.path, e.name)).mtimeMs <= built);
  } catch {
    return false;
  }
};
const CLI_ARGS = builtIsFresh() ? [BUILT] : ['--import', TSX, join(REPO, 'src/cli/main.ts')];

function cli(args: string[], cwd: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', rej);
    child.on('close', (code) => res({ code: code ?? 1, stdout, stderr }));
  });
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = process.hrtime.bigint();
  const r = await fn();
  return [Number(process.hrtime.bigint() - t) / 1e9, r];
}

export async function run(): Promise<BenchResult> {
  const scale = Number(process.env.BENCH_BACKUP_SCALE ?? 70);
  const rows: BenchRow[] = [];
  const src = await createCluster({ name: 'bench-backup-src', settings: { max_wal_size: '2GB' } });
  const scratch = await createCluster({ name: 'bench-backup-scratch' });
  const dir = mkdtempSync(join(tmpdir(), 'bench-backup-'));
  chmodSync(dir, 0o755);
  const s3dir = mkdtempSync(join(tmpdir(), 'bench-backup-s3-'));
  const require = createRequire(import.meta.url);
  const S3rver = require('s3rver') as new (o: Record<string, unknown>) => { run(): Promise<{ port: number }>; close(): Promise<void> };
  const s3 = new S3rver({ port: 0, address: '127.0.0.1', directory: s3dir, silent: true, configureBuckets: [{ name: 'b' }] });
  try {
    const { port } = await s3.run();
    const keys = await generateKeyPair();
    writeFileSync(join(dir, 'prodguard.yaml'), `version: 1
environments:
  production: { kind: production, urlEnv: PRODUCTION_DATABASE_URL }
backup:
  encryption: { recipients: [${keys.recipient}] }
  destinations:
    - { name: local, type: local, path: backups }
    - { name: s3, type: s3, bucket: b, endpoint: "http://127.0.0.1:${port}", accessKeyIdEnv: S3_KEY, secretAccessKeyEnv: S3_SECRET }
`);
    const env = { PRODUCTION_DATABASE_URL: src.url(), PRODGUARD_AGE_IDENTITY: keys.identity, S3_KEY: 'S3RVER', S3_SECRET: 'S3RVER' };

    const [genSecs] = await timed(() => runPgTool('pgbench', ['-i', '-s', String(scale), '-q', '--unlogged-tables', src.url()]));
    // Logged tables like production; --unlogged-tables above only speeds up generation.
    await withClient(src.url(), async (c) => {
      for (const t of ['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history']) await c.query(`ALTER TABLE ${t} SET LOGGED`);
      await c.query('CHECKPOINT');
    });
    const [{ size }] = await withClient(src.url(), async (c) => (await c.query(`SELECT pg_database_size(current_database())::bigint AS size`)).rows);
    const dbMB = Number(size) / 2 ** 20;

    // 1. create vs bare pg_dump -Fc. Alternate, twice each, take the best of each (least noise from neighbours).
    const bareFile = join(dir, 'bare.dump');
    const bare: number[] = [];
    const ours: number[] = [];
    let lastId = '';
    for (let i = 0; i < 2; i++) {
      const [b] = await timed(() => runPgTool('pg_dump', ['-Fc', '-f', bareFile, `--dbname=${src.url()}`]));
      bare.push(b);
      const [o, r] = await timed(() => cli(['backup', 'create', '--env', 'production', '--json', '--quiet'], dir, env));
      if (r.code !== 0) throw new Error(`backup create failed: ${r.stderr}`);
      lastId = JSON.parse(r.stdout).id;
      ours.push(o);
    }
    // The same work in-process (library call, no CLI start-up): separates the fixed cost of
    // starting node + loading the modules (dist/cli/main.js, see CLI_ARGS) from the per-byte cost.
    Object.assign(process.env, env);
    const ctx = contextFrom(loadConfig({ cwd: dir }));
    const inProc: number[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const [t] = await timed(() => createBackup(ctx, { env: 'production', reason: 'bench in-process' }));
        inProc.push(t);
      }
    } finally {
      await ctx.close();
    }
    const dumpMB = statSync(bareFile).size / 2 ** 20;
    const bestBare = Math.min(...bare);
    const bestOurs = Math.min(...ours);
    const createRatio = bestOurs / bestBare;
    rows.push({ subject: 'bare pg_dump -Fc → local file', value: +bestBare.toFixed(2), unit: 's', note: `runs ${bare.map((x) => x.toFixed(1)).join(', ')}` });
    rows.push({ subject: 'prodguard backup create (age-encrypted, local + S3 at once, row counts, roles, CLI start-up included)', value: +bestOurs.toFixed(2), unit: 's', note: `runs ${ours.map((x) => x.toFixed(1)).join(', ')}; ${createRatio.toFixed(2)}× bare` });
    rows.push({ subject: 'createBackup() in-process (same work, without CLI start-up)', value: +Math.min(...inProc).toFixed(2), unit: 's', note: `runs ${inProc.map((x) => x.toFixed(1)).join(', ')}; ${(Math.min(...inProc) / bestBare).toFixed(2)}× bare` });

    // 2. verify vs bare pg_restore into an empty database on a running server.
    await withClient(scratch.url(), (c) => c.query('CREATE DATABASE bare_restore'));
    const [bareRestore] = await timed(() => runPgTool('pg_restore', ['--no-owner', '-d', scratch.url('bare_restore'), bareFile]));
    const [verify, v] = await timed(() => cli(['backup', 'verify', lastId, '--json'], dir, env));
    if (v.code !== 0) throw new Error(`backup verify failed: ${v.stdout} ${v.stderr}`);
    const verifyRatio = verify / bareRestore;
    rows.push({ subject: 'bare pg_restore of the same dump into an empty database', value: +bareRestore.toFixed(2), unit: 's' });
    rows.push({ subject: 'prodguard backup verify (sha256 of both copies, download, decrypt, new cluster, pg_restore, row counts)', value: +verify.toFixed(2), unit: 's', note: `${verifyRatio.toFixed(2)}× bare pg_restore` });

    return {
      name: 'backup',
      title: 'Backup: prodguard backup create / verify vs bare pg_dump / pg_restore',
      goal: 'backup create ≤ 1.10× bare pg_dump -Fc',
      met: createRatio <= 1.1,
      rows,
      setup: `pgbench scale ${scale}: database ${dbMB.toFixed(0)} MiB, custom-format dump ${dumpMB.toFixed(0)} MiB (generated in ${genSecs.toFixed(0)} s); both sides compress with pg_dump's default zlib level; best of 2 alternating runs on a shared 2-core machine; verify includes creating a throw-away cluster; CLI: ${CLI_ARGS.length === 1 ? "dist/cli/main.js (built)" : "src/cli/main.ts under tsx (no fresh build)"}`,
    };
  } finally {
    await s3.close().catch(() => {});
    await src.destroy();
    await scratch.destroy();
    rmSync(dir, { recursive: true, force: true });
    rmSync(s3dir, { recursive: true, force: true });
  }
}
