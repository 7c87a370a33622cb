/**
 * `prodguard serve`: one long-running process that runs the schedule (when it is the leader),
 * keeps WAL streaming alive where PITR streams, and serves the dashboard, /metrics, /healthz and
 * /readyz. Binds 127.0.0.1 by default; any other address needs auth configured explicitly
 * (a token variable or per-person passwords) — no anonymous dashboard on a network.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import type { Context } from '../context.js';
import { configPath } from '../config/load.js';
import { durationMs } from '../config/schema.js';
import { UsageError, errorMessage } from '../errors.js';
import { maskSecrets } from '../security/mask.js';
import { createApp } from './http/app.js';
import type { AuthSettings } from './http/auth.js';
import { LeaderElection } from './leader.js';
import { ServerMetrics } from './metrics.js';
import { Scheduler } from './scheduler.js';
import { scheduledJobs, pitrEnvironments } from './jobs.js';
import { currentRunner } from './run-job.js';
import { acquireScheduleLock } from './schedule-lock.js';
import type { JobSpec } from './job-types.js';
import type { Clock } from './clock.js';
import { startStreaming } from '../restore/pitr/stream.js';

export interface ServeOptions {
  host?: string;
  port?: number;
  /** Dashboard only: no jobs (e.g. a second, read-only replica of the UI). */
  noScheduler?: boolean;
  /** Tests: override the jobs and the clock. */
  jobs?: JobSpec[];
  clock?: Clock;
  tickMs?: number;
  env?: Record<string, string | undefined>;
  log?: (line: string) => void;
}

export interface ServeHandle {
  url: string;
  /** Where the generated token was written (only when no token variable is set). */
  tokenFile: string | null;
  scheduler: Scheduler | null;
  leader: LeaderElection | null;
  isLeader(): boolean;
  stop(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

function resolveAuth(ctx: Context, host: string, env: Record<string, string | undefined>): { auth: AuthSettings; tokenFile: string | null } {
  const cfg = ctx.loaded.config.server.auth;
  const fromEnv = env[cfg.tokenEnv];
  if (!isLoopback(host) && !fromEnv && cfg.users.length === 0) {
    throw new UsageError(`refusing to serve on ${host} without a login: set $${cfg.tokenEnv} or add server.auth.users (or bind 127.0.0.1)`, 'serve.no-auth');
  }
  if (fromEnv) {
    if (fromEnv.length < 16) throw new UsageError(`$${cfg.tokenEnv} is too short to be a login token (at least 16 characters)`, 'serve.weak-token');
    return { auth: { token: fromEnv, users: cfg.users }, tokenFile: null };
  }
  // No token configured: make one for this run, readable only by this user. Never printed.
  const token = randomBytes(24).toString('base64url');
  const tokenFile = join(dirname(configPath(ctx.loaded, ctx.loaded.config.state.path)), 'serve-token');
  mkdirSync(dirname(tokenFile), { recursive: true });
  writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
  chmodSync(tokenFile, 0o600);
  return { auth: { token, users: cfg.users }, tokenFile };
}

export async function startServe(ctx: Context, opts: ServeOptions = {}): Promise<ServeHandle> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((l: string) => process.stderr.write(`prodguard serve: ${maskSecrets(l)}\n`));
  const cfg = ctx.loaded.config.server;
  const host = opts.host ?? cfg.host;
  const port = opts.port ?? cfg.port;
  const { auth, tokenFile } = resolveAuth(ctx, host, env);
  await ctx.store(); // fail now, not on the first page, when the store cannot be opened

  let leader: LeaderElection | null = null;
  // A PostgreSQL team store is shared by every server anyway: elect there unless told otherwise.
  const leaderUrlEnv = cfg.leader.urlEnv ?? (ctx.loaded.config.state.store === 'postgres' ? ctx.loaded.config.state.urlEnv : undefined);
  if (!opts.noScheduler && leaderUrlEnv) {
    const url = env[leaderUrlEnv];
    if (!url) throw new UsageError(`$${leaderUrlEnv} (${cfg.leader.urlEnv ? 'server.leader.urlEnv' : 'state.urlEnv'}) is not set: several servers could not agree on one leader`, 'serve.leader-url');
    leader = new LeaderElection({
      url, lockName: ctx.loaded.config.project.name, pollMs: durationMs(cfg.leader.pollInterval),
      onChange: (l) => log(l ? 'became the leader: running the schedule' : 'not the leader: schedule paused'),
      onError: (m) => log(m),
    });
  }
  const isLeader = () => (leader ? leader.isLeader() : true);
  // Without an election, this process must be the only scheduler on this store.
  const releaseLock = !opts.noScheduler && !leader ? acquireScheduleLock(join(dirname(configPath(ctx.loaded, ctx.loaded.config.state.path)), 'serve.lock')) : () => {};
  const metrics = new ServerMetrics();

  let scheduler: Scheduler | null = null;
  const jobs = opts.noScheduler ? [] : (opts.jobs ?? (await scheduledJobs(ctx)));
  if (!opts.noScheduler) {
    scheduler = new Scheduler(ctx, jobs, {
      clock: opts.clock, timezone: ctx.loaded.config.schedules.timezone, runner: currentRunner('serve'), isLeader,
      onRun: (r) => log(`${r.job}: ${r.result}${r.catchUp ? ' (catch-up)' : ''} — ${r.summary}`),
      onError: (err) => log(`scheduler: ${errorMessage(err)}`),
    });
  }

  const streams = opts.jobs || opts.noScheduler ? null : new WalStreams(ctx, log);
  const app = createApp({
    ctx, auth, metrics,
    schedule: () => (scheduler && isLeader() ? jobs.map((j) => ({ id: j.id, cron: j.cron, next: scheduler!.nextSlot(j.id, new Date())?.toISOString() ?? null })) : []),
    ready: async () => {
      try {
        await (await ctx.store()).getMeta('serve.ready-probe');
      } catch (err) {
        return { ok: false, reason: `state store unavailable: ${maskSecrets(errorMessage(err))}` };
      }
      if (leader && !leader.isLeader()) return { ok: true, reason: 'follower (another process runs the schedule)' };
      return { ok: true, reason: scheduler ? 'scheduler running' : 'dashboard only' };
    },
  });
  const server = createAdaptorServer({ fetch: app.fetch, hostname: host, port }) as Server;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(new UsageError(`cannot listen on ${host}:${port}: ${err.code ?? err.message}`, 'serve.listen')));
      server.listen(port, host, () => resolve());
    });
  } catch (err) {
    releaseLock();
    throw err;
  }
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;

  if (leader) await leader.start();
  metrics.leader.set(isLeader() ? 1 : 0);
  const leaderGauge = setInterval(() => {
    metrics.leader.set(isLeader() ? 1 : 0);
    if (streams) void streams.reconcile(isLeader());
  }, 1000);
  scheduler?.start(opts.tickMs ?? 1000);
  if (streams) void streams.reconcile(isLeader());
  await ctx.audit({ action: 'serve.start', command: 'prodguard serve', target: '-', verdict: 'ok', reason: `serving ${url}; ${jobs.length} job(s) scheduled${leader ? ', leader election on' : ''}` });

  return {
    url, tokenFile, scheduler, leader, isLeader,
    async stop() {
      clearInterval(leaderGauge);
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections?.();
      await scheduler?.stop();
      await streams?.stopAll();
      await leader?.stop();
      releaseLock();
    },
  };
}

/** Keeps `pg_receivewal` running for every environment whose PITR streams, while leader. */
class WalStreams {
  private handles = new Map<string, { stop(): Promise<void> }>();
  private retryAt = new Map<string, number>();
  private busy = false;

  constructor(private readonly ctx: Context, private readonly log: (l: string) => void) {}

  async reconcile(leader: boolean): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      if (!leader) return void (await this.stopAll());
      for (const p of await pitrEnvironments(this.ctx)) {
        if (p.method !== 'streaming' || this.handles.has(p.env) || (this.retryAt.get(p.env) ?? 0) > Date.now()) continue;
        try {
          const h = await startStreaming(this.ctx, p.env, { onError: (m) => this.log(`WAL streaming ${p.env}: ${m}`) });
          this.handles.set(p.env, h);
          this.log(`WAL streaming for ${p.env} started`);
          void h.exited.then(() => {
            this.handles.delete(p.env);
            this.retryAt.set(p.env, Date.now() + 30_000);
            this.log(`WAL streaming for ${p.env} stopped; restarting in 30 s`);
          });
        } catch (err) {
          this.retryAt.set(p.env, Date.now() + 30_000);
          this.log(`WAL streaming for ${p.env}: ${errorMessage(err)}`);
        }
      }
    } finally {
      this.busy = false;
    }
  }

  async stopAll(): Promise<void> {
    const hs = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(hs.map((h) => h.stop()));
  }
}
