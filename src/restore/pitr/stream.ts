/**
 * `prodguard pitr stream`: pg_receivewal, managed by prodguard. It connects with the environment's
 * replication slot (so the server keeps WAL the receiver has not got yet), writes WAL into a local
 * spool as the server produces it (--synchronous: flushed on receipt, so the server's view of the
 * receiver's position is exact), and prodguard ships every completed segment into the encrypted
 * archive. The segment being filled stays in the spool as <name>.partial: that is the sub-second
 * RPO, held on the prodguard host until the segment completes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from '../../context.js';
import { connectionUrl } from '../../config/connection.js';
import { pgBin } from '../../pg/binaries.js';
import { toolConn } from '../../pg/tool-conn.js';
import { withClient } from '../../pg/client.js';
import { maskSecrets } from '../../security/mask.js';
import { RefusedError, errorMessage } from '../../errors.js';
import { encryptionSettings } from './crypto.js';
import { authorisePitrDestinations } from './authorise.js';
import { openPitrStore, pitrStoreDir } from './store.js';
import { archiveWalFile } from './archive.js';
import { slotName } from './enable.js';
import { HISTORY_RE, SEGMENT_RE } from './wal.js';
import { toolEnv } from '../../pg/tool-env.js';

/** A time the receiver was not connected: from its disconnect until it was receiving again. */
export interface StreamGap {
  from: string;
  /** null while still disconnected. */
  to: string | null;
  reason: string;
}

export interface StreamHandle {
  spool: string;
  /** Ships whatever is complete now (also runs every `intervalMs`). */
  shipNow(): Promise<string[]>;
  stop(): Promise<void>;
  /** Resolves (0) when the receiver was stopped with stop(): it reconnects on its own until then. */
  exited: Promise<number>;
  /** Every disconnect so far (also audited, and kept in the state store for `pitr status`). */
  gaps: StreamGap[];
  state(): 'connected' | 'reconnecting' | 'stopped';
}

export const STREAM_STATE_COLLECTION = 'pitr-stream';

export interface StreamStateDoc {
  environment: string;
  pid: number;
  state: 'connected' | 'reconnecting' | 'stopped';
  since: string;
  gaps: StreamGap[];
}

export async function startStreaming(
  ctx: Context,
  envName: string,
  opts: {
    env?: Record<string, string | undefined>;
    intervalMs?: number;
    onShip?: (name: string) => void;
    onError?: (msg: string) => void;
    onGap?: (gap: StreamGap) => void;
    /** Reconnect back-off: doubles from initialMs up to maxMs (default 1 s → 60 s), forever. */
    backoff?: { initialMs?: number; maxMs?: number };
  } = {},
): Promise<StreamHandle> {
  const { loaded } = ctx;
  const url = connectionUrl(loaded, envName, opts.env);
  // Every segment from here on goes to the destinations and recipients configured now: the signed policy's only (w5c-043).
  await authorisePitrDestinations(ctx, envName, url);
  const store = await openPitrStore(loaded, envName, encryptionSettings(loaded));
  const slot = slotName(envName);
  const exists = await withClient(url, async (c) => (await c.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).rowCount);
  if (!exists) throw new RefusedError(`replication slot ${slot} does not exist; run \`prodguard pitr enable --env ${envName}\` with pitr.method: streaming first`, 'pitr.no-slot');
  const spool = join(pitrStoreDir(loaded, envName), 'spool');
  mkdirSync(spool, { recursive: true, mode: 0o700 });
  const tc = toolConn(url);
  const initialMs = opts.backoff?.initialMs ?? 1000;
  const maxMs = opts.backoff?.maxMs ?? 60_000;

  let stopping = false;
  let child: ChildProcess | null = null;
  let state: 'connected' | 'reconnecting' | 'stopped' = 'connected';
  let since = new Date().toISOString();
  const gaps: StreamGap[] = [];
  let wake: (() => void) | null = null;

  const record = async () => {
    const doc: StreamStateDoc = { environment: envName, pid: process.pid, state, since, gaps: gaps.slice(-50) };
    await (await ctx.store()).put(STREAM_STATE_COLLECTION, envName, doc).catch(() => {});
  };

  /** One pg_receivewal run; resolves with its exit code and last stderr line. */
  const runOnce = () =>
    new Promise<{ code: number; last: string }>((resolve) => {
      let stderr = '';
      const c = spawn(pgBin('pg_receivewal'), ['-d', tc.conn, '-D', spool, '--slot', slot, '--synchronous', '--no-loop', '-n'], { stdio: ['ignore', 'ignore', 'pipe'], env: toolEnv(tc.env) });
      child = c;
      c.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
      c.on('error', (err) => resolve({ code: 1, last: err.message }));
      c.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), last: maskSecrets(stderr.trim().split('\n').pop() ?? '') }));
    });

  const loop = async (): Promise<number> => {
    let attempt = 0;
    while (!stopping) {
      const startedAt = Date.now();
      const run = runOnce();
      // Connected once it has run a moment without exiting; the open gap closes then.
      const settle = setTimeout(() => {
        if (stopping) return;
        const open = gaps[gaps.length - 1];
        if (state !== 'connected') {
          state = 'connected';
          since = new Date().toISOString();
          if (open && open.to === null) {
            open.to = since;
            void ctx.audit({ action: 'pitr.stream', command: `prodguard pitr stream --env ${envName}`, target: envName, verdict: 'ok', reason: `receiver reconnected; not receiving from ${open.from} to ${open.to}` }).catch(() => {});
          }
          void record();
        }
      }, 1000);
      const { code, last } = await run;
      clearTimeout(settle);
      child = null;
      if (stopping) break;
      if (Date.now() - startedAt > 60_000) attempt = 0;
      const open = gaps[gaps.length - 1];
      if (state === 'connected' || !open || open.to !== null) {
        const gap: StreamGap = { from: new Date().toISOString(), to: null, reason: `pg_receivewal exited with ${code}${last ? `: ${last}` : ''}` };
        gaps.push(gap);
        state = 'reconnecting';
        since = gap.from;
        opts.onGap?.(gap);
        opts.onError?.(`WAL receiver disconnected (${gap.reason}); reconnecting`);
        // Each gap is an alert-worthy event: audited (and picked up by status / serve's alerts).
        await ctx.audit({ action: 'pitr.stream', command: `prodguard pitr stream --env ${envName}`, target: envName, verdict: 'failed', reason: `WAL receiver disconnected: ${gap.reason}; reconnecting with back-off` }).catch(() => {});
        await record();
      }
      const delay = Math.min(maxMs, initialMs * 2 ** attempt);
      attempt++;
      await new Promise<void>((r) => {
        const t = setTimeout(r, delay);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
      wake = null;
    }
    return 0;
  };

  let shipping: Promise<string[]> | null = null;
  const shipOnce = async (): Promise<string[]> => {
    const shipped: string[] = [];
    const files = readdirSync(spool).filter((f) => SEGMENT_RE.test(f) || HISTORY_RE.test(f)).sort();
    for (const f of files) {
      await archiveWalFile(store, join(spool, f), f, 'streaming');
      rmSync(join(spool, f));
      shipped.push(f);
      opts.onShip?.(f);
    }
    return shipped;
  };
  let queued: Promise<string[]> | null = null;
  // A call while a ship runs must not just join it: that run listed the spool before the call and
  // can miss a segment completed since. Queue one more run after it (shared by all such callers).
  const shipNow = (): Promise<string[]> => {
    if (!shipping) return (shipping = shipOnce().finally(() => (shipping = null)));
    return (queued ??= shipping.catch(() => []).then(() => {
      queued = null;
      return shipNow();
    }));
  };
  const timer = setInterval(() => {
    shipNow().catch((err) => opts.onError?.(maskSecrets(errorMessage(err))));
  }, opts.intervalMs ?? 500);

  await ctx.audit({ action: 'pitr.stream', command: `prodguard pitr stream --env ${envName}`, target: envName, verdict: 'ok', reason: `pg_receivewal started with slot ${slot}, spool ${spool}` });
  await record();
  const exited = loop();
  let stopped: Promise<void> | null = null;
  return {
    spool,
    shipNow,
    exited,
    gaps,
    state: () => state,
    // Idempotent: tests and signal handlers may both stop the receiver.
    stop() {
      stopped ??= (async () => {
        stopping = true;
        clearInterval(timer);
        wake?.();
        const c = child as ChildProcess | null;
        if (c && c.exitCode === null) c.kill('SIGTERM');
        await exited;
        state = 'stopped';
        since = new Date().toISOString();
        await record();
        if (existsSync(spool)) await shipNow();
        await store.close();
      })();
      return stopped;
    },
  };
}

/** The CLI's long-running form: streams (reconnecting on its own) until SIGINT/SIGTERM. */
export async function streamWal(ctx: Context, envName: string, opts: { onShip?: (name: string) => void } = {}): Promise<void> {
  const h = await startStreaming(ctx, envName, { onShip: opts.onShip, onError: (m) => process.stderr.write(`prodguard: ${m}\n`) });
  const stop = () => void h.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await h.exited;
  await h.stop();
}
