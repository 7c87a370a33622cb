/**
 * `pgbench -S` (select-only) transactions per second through the prodguard gateway versus a
 * direct connection and versus pgbouncer (session pooling, the plain relay the field uses), in the
 * same run against the same cluster, at 1, 8 and 32 clients, in the simple protocol (every
 * statement text differs, so every one is parsed and classified) and the prepared protocol.
 * The gateway runs with per-statement audit on, as in production; TLS off on every path.
 * pgbouncer is installed from Debian when missing (as root).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { stringify } from 'yaml';
import { createCluster } from '../src/pg/cluster.js';
import { openContext } from '../src/context.js';
import { addUser } from '../src/gateway/users.js';
import { startGateway } from '../src/gateway/start.js';
import type { BenchResult, BenchRow } from './run.js';

/** `npm run bench -- --quick` runs this bench at small sizes: bench/run.ts sets its size variables small (bench/quick.ts). */
export const quickSupported = true;

const CLIENTS = [1, 8, 32];
const SECONDS = Number(process.env.PRODGUARD_BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.PRODGUARD_BENCH_ROUNDS ?? 5);

/** CPU seconds (user + system) a process has used so far, from /proc (Linux clock ticks of 10 ms). */
function processCpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** runuser forks pgbouncer as its child; the CPU to measure is the child's. */
function pgbouncerPid(launcher: number): number {
  try {
    const kids = readFileSync(`/proc/${launcher}/task/${launcher}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return kids.length ? Number(kids[0]) : launcher;
  } catch {
    return launcher;
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function ensurePgbouncer(): string {
  const which = spawnSync('sh', ['-c', 'command -v pgbouncer || ls /usr/sbin/pgbouncer'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim().split('\n')[0];
  if (process.getuid?.() !== 0) throw new Error('pgbouncer is not installed (apt-get install pgbouncer)');
  const r = spawnSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('installing pgbouncer failed');
  return '/usr/sbin/pgbouncer';
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function pgbench(conn: string, clients: number, mode: string): Promise<{ tps: number; latencyMs: number; transactions: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('pgbench', ['-S', '-n', '-T', String(SECONDS), '-c', String(clients), '-j', String(Math.min(clients, 2)), '-M', mode, conn]);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    child.on('close', (code) => {
      const tps = /tps = ([\d.]+)/.exec(out);
      const lat = /latency average = ([\d.]+) ms/.exec(out);
      const done = /processed: (\d+)/.exec(out);
      if (code !== 0 || !tps || !lat) return reject(new Error(`pgbench failed (${code}): ${err.trim().split('\n').slice(-3).join(' ')}`));
      resolve({ tps: Number(tps[1]), latencyMs: Number(lat[1]), transactions: Number(done?.[1] ?? 0) });
    });
  });
}

/**
 * The floor for any relay written in Node: a socket relay that copies bytes both ways and does
 * nothing else (no framing, no judging, no audit), in this same process. Its CPU per transaction
 * is what the gateway's would be if everything the gateway adds cost nothing.
 */
function bareRelay(upstreamPort: number): Promise<{ server: Server; port: number }> {
  const server = createServer((c) => {
    const u = netConnect({ host: '127.0.0.1', port: upstreamPort });
    c.setNoDelay(true);
    u.setNoDelay(true);
    c.on('data', (d) => u.write(d));
    u.on('data', (d) => c.write(d));
    c.on('close', () => u.destroy());
    u.on('close', () => c.destroy());
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

export async function run(): Promise<BenchResult> {
  const bouncerBin = ensurePgbouncer();
  const cluster = await createCluster({ name: 'prodguard-bench-gw', settings: { max_connections: 200 } });
  const dir = mkdtempSync(join(tmpdir(), 'prodguard-bench-gw-'));
  let bouncer: ReturnType<typeof spawn> | null = null;
  let stopGateway: (() => Promise<void>) | null = null;
  let relay: Server | null = null;
  try {
    const url = cluster.url();
    const init = spawnSync('pgbench', ['-i', '-s', '10', '-q', url], { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);

    writeFileSync(join(dir, 'prodguard.yaml'), stringify({
      version: 1,
      project: { name: 'bench' },
      environments: { production: { kind: 'production', urlEnv: 'PRODGUARD_BENCH_GW_URL' } },
      team: [{ name: 'bench', role: 'developer' }],
      gateway: { listen: '127.0.0.1:0', requireTls: false, maxConnectionsPerUser: 100 },
    }));
    process.env.PRODGUARD_BENCH_GW_URL = `${url}?sslmode=disable`;
    const ctx = openContext({ cwd: dir });
    await addUser(await ctx.store(), ctx.loaded.config.team, { name: 'bench', member: 'bench', password: 'bench-password-123', createdBy: 'bench' });
    const gw = await startGateway(ctx, { env: 'production' });
    stopGateway = async () => {
      await gw.gateway.close();
      await ctx.close();
    };

    // pgbouncer refuses to run as root; as root it runs as the cluster's OS user.
    const bport = await freePort();
    writeFileSync(join(dir, 'userlist.txt'), '"postgres" ""\n');
    writeFileSync(join(dir, 'pgbouncer.ini'), `[databases]\npostgres = host=127.0.0.1 port=${cluster.port} dbname=postgres\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = ${bport}\nauth_type = trust\nauth_file = ${join(dir, 'userlist.txt')}\npool_mode = session\nmax_client_conn = 200\ndefault_pool_size = 40\nunix_socket_dir =\nlogfile = ${join(dir, 'pgbouncer.log')}\n`);
    if (cluster.osUser) spawnSync('chown', ['-R', cluster.osUser, dir]);
    bouncer = cluster.osUser ? spawn('runuser', ['-u', cluster.osUser, '--', bouncerBin, join(dir, 'pgbouncer.ini')], { stdio: 'ignore' }) : spawn(bouncerBin, [join(dir, 'pgbouncer.ini')], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 1000));
    const bouncerPid = bouncer.pid ? pgbouncerPid(bouncer.pid) : 0;
    const bare = await bareRelay(cluster.port);
    relay = bare.server;
    const load0 = loadavg()[0];

    const targets: Record<string, string> = {
      direct: `host=127.0.0.1 port=${cluster.port} dbname=postgres user=postgres sslmode=disable`,
      pgbouncer: `host=127.0.0.1 port=${bport} dbname=postgres user=postgres sslmode=disable`,
      gateway: `host=127.0.0.1 port=${gw.port} dbname=postgres user=bench password=bench-password-123 sslmode=disable`,
    };
    const rows: BenchRow[] = [];
    const tps: Record<string, number> = {};
    const loads: number[] = [];
    // CPU used per transaction by each relay, over every measured run: the number that decides
    // throughput on a machine whose cores are all busy (the relay competes with pgbench and PostgreSQL).
    const cpu: Record<string, { seconds: number; transactions: number }> = { gateway: { seconds: 0, transactions: 0 }, pgbouncer: { seconds: 0, transactions: 0 } };
    // The same, per protocol at 8 clients, for the gateway, pgbouncer and the bare Node relay.
    const cpu8: Record<string, { seconds: number; transactions: number }> = {};
    const measure = async (name: string, conn: string, c: number, mode: string) => {
      const g0 = process.cpuUsage();
      const b0 = name === 'pgbouncer' && bouncerPid ? processCpuSeconds(bouncerPid) : 0;
      const m = await pgbench(conn, c, mode);
      let seconds = -1;
      if (name === 'gateway' || name === 'relay') {
        const u = process.cpuUsage(g0);
        seconds = (u.user + u.system) / 1e6;
      } else if (name === 'pgbouncer' && bouncerPid) seconds = processCpuSeconds(bouncerPid) - b0;
      if (seconds >= 0) {
        if (cpu[name]) {
          cpu[name].seconds += seconds;
          cpu[name].transactions += m.transactions;
        }
        if (c === 8) {
          const k = `${name}:${mode}`;
          cpu8[k] ??= { seconds: 0, transactions: 0 };
          cpu8[k].seconds += seconds;
          cpu8[k].transactions += m.transactions;
        }
      }
      loads.push(loadavg()[0]);
      return m;
    };
    for (const mode of ['simple', 'prepared']) {
      for (const c of CLIENTS) {
        const runs: Record<string, Array<{ tps: number; latencyMs: number }>> = {};
        // Warm-up (JIT, parser cache, pool connections), then ROUNDS measured runs interleaved
        // across the three targets; the median of each is kept (the machine is shared, so a run
        // can be slowed by anything; the median of interleaved runs is fair to all three).
        for (const conn of Object.values(targets)) await pgbench(conn, c, mode).catch(() => undefined);
        for (let round = 0; round < ROUNDS; round++) {
          for (const [name, conn] of Object.entries(targets)) (runs[name] ??= []).push(await measure(name, conn, c, mode));
          // The bare relay only for its CPU per transaction at 8 clients (not a subject of the goal).
          if (c === 8) await measure('relay', `host=127.0.0.1 port=${bare.port} dbname=postgres user=postgres sslmode=disable`, c, mode);
        }
        const r: Record<string, { tps: number; latencyMs: number }> = {};
        for (const name of Object.keys(targets)) r[name] = { tps: median(runs[name].map((x) => x.tps)), latencyMs: median(runs[name].map((x) => x.latencyMs)) };
        for (const name of Object.keys(targets)) tps[`${name}:${mode}:${c}`] = r[name].tps;
        for (const name of Object.keys(targets)) {
          rows.push({
            subject: `${name}, -M ${mode}, ${c} client${c > 1 ? 's' : ''}`,
            value: Math.round(r[name].tps),
            unit: 'tps',
            note: name === 'direct' ? `latency ${r.direct.latencyMs.toFixed(3)} ms` : `${(r[name].tps / r.direct.tps).toFixed(2)}× direct; latency +${(r[name].latencyMs - r.direct.latencyMs).toFixed(3)} ms`,
          });
        }
      }
    }
    const ratio8 = tps['gateway:simple:8'] / tps['direct:simple:8'];
    const vsBouncer8 = tps['gateway:simple:8'] / tps['pgbouncer:simple:8'];
    const added1 = 1000 / tps['gateway:simple:1'] - 1000 / tps['direct:simple:1'];
    rows.push({ subject: 'added latency per statement through the gateway (simple, 1 client)', value: Number(added1.toFixed(3)), unit: 'ms' });
    rows.push({ subject: 'statements audited by the gateway during the run', value: gw.gateway.statements, unit: 'statements' });
    for (const name of ['gateway', 'pgbouncer'] as const) {
      if (cpu[name].transactions) rows.push({ subject: `${name} CPU per transaction (user + system, all measured runs)`, value: Number(((cpu[name].seconds / cpu[name].transactions) * 1e6).toFixed(1)), unit: 'µs', note: `${cpu[name].transactions} transactions` });
    }
    const perTxn = (k: string) => (cpu8[k]?.transactions ? (cpu8[k].seconds / cpu8[k].transactions) * 1e6 : NaN);
    for (const mode of ['simple', 'prepared']) {
      for (const [name, label] of [['gateway', 'gateway'], ['pgbouncer', 'pgbouncer'], ['relay', 'bare Node socket relay (bytes both ways, nothing else; the floor for a relay in Node)']]) {
        const v = perTxn(`${name}:${mode}`);
        if (Number.isFinite(v)) rows.push({ subject: `${label} CPU per transaction, -M ${mode}, 8 clients`, value: Number(v.toFixed(1)), unit: 'µs', note: name === 'gateway' ? `bare relay ${perTxn(`relay:${mode}`).toFixed(1)} µs, pgbouncer ${perTxn(`pgbouncer:${mode}`).toFixed(1)} µs` : undefined });
      }
    }
    const loadNote = `load average (1 min) ${load0.toFixed(1)} at start, median ${median(loads).toFixed(1)} during the runs, on ${(await import('node:os')).cpus().length} cores`;
    return {
      name: 'gateway',
      title: 'pgbench -S through the gateway vs direct vs pgbouncer',
      goal: '≥ 0.8× direct at 8 clients and at least pgbouncer’s rate (simple protocol)',
      met: ratio8 >= 0.8 && vsBouncer8 >= 1,
      setup: `pgbench scale 10, -S select-only, ${SECONDS} s per run after a warm-up run, median of ${ROUNDS} interleaved runs per target, -j min(clients, 2); PostgreSQL on loopback TCP; gateway in one Node process with per-statement audit (hash-chained, batched); pgbouncer session pooling; no TLS on any path; CPU per transaction (process user + system time / transactions) at 8 clients also for a bare Node socket relay in the gateway's process, the floor for any relay written in Node. At 8 clients (simple): gateway ${ratio8.toFixed(2)}× direct, ${vsBouncer8.toFixed(2)}× pgbouncer. ${loadNote}.`,
      rows,
    };
  } finally {
    bouncer?.kill('SIGTERM');
    relay?.close();
    await stopGateway?.().catch(() => undefined);
    await cluster.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
