/**
 * Throw-away PostgreSQL clusters: initdb on a free port in a temp dir, started with pg_ctl,
 * always stopped and removed — on stop(), on process exit, and on SIGINT/SIGTERM — so a failing
 * test or an interrupted drill leaves no server behind. Used by tests, the demo, backup verify
 * and restore drills.
 *
 * initdb and postgres refuse to run as root, so as root the cluster runs as the `postgres`
 * OS user (its directory is chowned to it); as a normal user they run directly.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { pgBin } from './binaries.js';
import { asUserCommand, runCommand } from './run-tool.js';
import { buildUri } from './conninfo.js';
import { ProdguardError, errorMessage } from '../errors.js';
import { watchCluster } from './cluster-watchdog.js';

/** The file naming the pid of the process a private cluster belongs to (read by leftovers). */
export const CLUSTER_OWNER_FILE = '.prodguard-owner';

export interface ClusterOptions {
  /** Prefix of the temp dir name, for humans looking at /tmp. */
  name?: string;
  /** Exactly this port: starting fails if it is taken. */
  port?: number;
  /** Try this port first; another free one is picked if it is taken by the time the server starts. */
  firstPort?: number;
  /** Extra postgresql.conf settings, e.g. { wal_level: 'replica', archive_mode: 'on' }. */
  settings?: Record<string, string | number | boolean>;
  /** Keep the data directory when stopped (the demo's --keep). */
  keep?: boolean;
  /** Use this existing (e.g. restored) data directory instead of running initdb. */
  dataDir?: string;
  /** fsync off makes throw-away clusters much faster; never for anything that must survive a crash. */
  durable?: boolean;
  /** initdb's bootstrap superuser (default `postgres`); Supabase-like clusters use `supabase_admin`. */
  bootstrapUser?: string;
  /**
   * The cluster will hold restored production data (backup verify, drills): no TCP listener, only
   * a Unix socket in its 0700 directory (owned by the server's OS user), pg_hba `local` lines only,
   * an owner file naming this process, and a detached watchdog that stops the server and removes the
   * directory when this process dies — kill -9 included. Other local OS users cannot connect.
   */
  private?: boolean;
}

export interface Cluster {
  dataDir: string;
  /** Directory holding dataDir, the log and anything else belonging to this cluster. */
  baseDir: string;
  port: number;
  host: string;
  osUser: string | undefined;
  logFile: string;
  url(database?: string, user?: string): string;
  start(): Promise<void>;
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Stops the server and removes its directory (unless keep). */
  destroy(): Promise<void>;
  running: boolean;
}

const live = new Set<Cluster>();
let hooksInstalled = false;

function installExitHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const cleanupSync = () => {
    for (const c of live) stopSync(c);
  };
  process.on('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      cleanupSync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

/**
 * Stops (and removes) every cluster this process started, synchronously: for an exit handler
 * that must remove a directory holding clusters only after their servers are down (the demo).
 */
export function stopLiveClustersSync(): void {
  for (const c of live) stopSync(c);
  live.clear();
}

function stopSync(c: Cluster & { keepDir?: boolean; stopWatchdog?: () => void }) {
  c.stopWatchdog?.();
  if (c.running) {
    const [cmd, args] = asUserCommand(pgBin('pg_ctl'), ['-D', c.dataDir, 'stop', '-m', 'immediate', '-w'], c.osUser);
    spawnSync(cmd, args, { stdio: 'ignore' });
    c.running = false;
  }
  if (!c.keepDir) rmSync(c.baseDir, { recursive: true, force: true });
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** The OS user that server processes run as: postgres when we are root, else ourselves. */
export function serverOsUser(): string | undefined {
  return isRoot() ? 'postgres' : undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Makes a temp directory the server's OS user can own (chowned to postgres when root). */
export function makeServerDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  chownForServer(dir);
  return dir;
}

export function chownForServer(path: string) {
  if (!isRoot()) return;
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isFinite(uid) || Number.isNaN(uid)) throw new ProdguardError('running as root but there is no "postgres" OS user to run PostgreSQL as', { code: 'pg.no-os-user' });
  spawnSync('chown', ['-R', `${uid}:${gid}`, path]);
  chmodSync(path, 0o700);
}

function confValue(v: string | number | boolean): string {
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (typeof v === 'number') return String(v);
  return `'${v.replace(/'/g, "''")}'`;
}

export async function createCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  installExitHooks();
  const osUser = serverOsUser();
  // Find the programs before creating anything: a missing binary must leave no directory behind.
  const initdb = opts.dataDir ? undefined : pgBin('initdb');
  pgBin('pg_ctl');
  let port = opts.port ?? opts.firstPort ?? (await freePort());
  const baseDir = makeServerDir(opts.name ?? 'prodguard-pg');
  // A private cluster is reached through its socket directory only (see ClusterOptions.private).
  const host = opts.private ? baseDir : '127.0.0.1';
  const dataDir = opts.dataDir ?? join(baseDir, 'data');
  const logFile = join(baseDir, 'postgres.log');
  let stopWatchdog: (() => void) | undefined;
  // A Unix socket path is limited to 107 bytes: say so instead of a server that cannot start.
  if (opts.private && Buffer.byteLength(join(baseDir, `.s.PGSQL.${port}`)) > 107) {
    rmSync(baseDir, { recursive: true, force: true });
    throw new ProdguardError(`the temp directory path is too long for a throw-away cluster's Unix socket (${baseDir}); set TMPDIR to a shorter directory`, { code: 'pg.socket-path' });
  }
  if (opts.private) {
    // Owner first, watchdog next, before initdb: a kill at any later moment is covered.
    writeFileSync(join(baseDir, CLUSTER_OWNER_FILE), `${process.pid}\n`, { mode: 0o600 });
    stopWatchdog = watchCluster(dataDir, baseDir);
  }

  if (initdb) {
    await runCommand(initdb, ['-D', dataDir, '-A', 'trust', '-U', opts.bootstrapUser ?? 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'], {
      asUser: osUser,
    }).catch((err) => {
      stopWatchdog?.();
      rmSync(baseDir, { recursive: true, force: true });
      throw new ProdguardError(`initdb failed: ${errorMessage(err)}`, { code: 'pg.initdb' });
    });
  }
  const settings: Record<string, string | number | boolean> = {
    listen_addresses: opts.private ? '' : host,
    port,
    unix_socket_directories: baseDir,
    ...(opts.private ? { unix_socket_permissions: '0700' } : {}),
    fsync: opts.durable ?? false,
    full_page_writes: true,
    synchronous_commit: opts.durable ? true : false,
    max_connections: 50,
    shared_buffers: '64MB',
    log_min_messages: 'warning',
    ...opts.settings,
  };
  const conf = Object.entries(settings).map(([k, v]) => `${k} = ${confValue(v)}`).join('\n');
  const confFile = join(dataDir, 'postgresql.conf');
  if (existsSync(confFile)) appendFileSync(confFile, `\n# prodguard throw-away cluster\n${conf}\n`);
  // initdb -A trust wrote `host` lines too; a private cluster accepts its own socket only.
  if (opts.private && existsSync(join(dataDir, 'pg_hba.conf'))) writeFileSync(join(dataDir, 'pg_hba.conf'), 'local all all trust\n');
  // postgres must be able to write the log next to its data dir.
  if (osUser) spawnSync('chown', ['-R', 'postgres:postgres', baseDir]);

  const cluster: Cluster & { keepDir?: boolean; stopWatchdog?: () => void } = {
    dataDir,
    baseDir,
    port,
    host,
    osUser,
    logFile,
    running: false,
    keepDir: opts.keep,
    stopWatchdog,
    url(database = 'postgres', user = 'postgres') {
      if (opts.private) {
        const q = new URLSearchParams({ host, port: String(cluster.port) }).toString();
        return `postgresql://${encodeURIComponent(user)}@/${encodeURIComponent(database)}?${q}`;
      }
      return buildUri({ host, port: cluster.port, database, user });
    },
    async start() {
      await runCommand(pgBin('pg_ctl'), ['-D', dataDir, '-l', logFile, '-w', '-t', '120', 'start'], { asUser: osUser }).catch((err) => {
        throw new ProdguardError(`cannot start PostgreSQL on port ${cluster.port}: ${errorMessage(err)} (log: ${logFile})`, { code: 'pg.start' });
      });
      cluster.running = true;
      live.add(cluster);
    },
    async stop(mode = 'fast') {
      if (!cluster.running) return;
      await runCommand(pgBin('pg_ctl'), ['-D', dataDir, 'stop', '-m', mode, '-w', '-t', '120'], { asUser: osUser, allowFailure: true });
      cluster.running = false;
    },
    async destroy() {
      await cluster.stop('immediate');
      live.delete(cluster);
      if (!cluster.keepDir) rmSync(baseDir, { recursive: true, force: true });
      stopWatchdog?.();
    },
  };
  // The port was free when picked, but initdb took a while: another process (a parallel test file)
  // may have bound it since. When we picked it, pick again rather than fail.
  for (let attempt = 1; ; attempt++) {
    try {
      await cluster.start();
      return cluster;
    } catch (err) {
      const taken = /could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(readLog(logFile));
      if (opts.port === undefined && existsSync(confFile) && taken && attempt < 4) {
        port = await freePort();
        cluster.port = port;
        appendFileSync(confFile, `port = ${port}\n`);
        continue;
      }
      if (!opts.keep) rmSync(baseDir, { recursive: true, force: true });
      stopWatchdog?.();
      throw err;
    }
  }
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Who we are, for messages. */
export function currentOsUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}
