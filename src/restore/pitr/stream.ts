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
import { RefusedError } from '../../errors.js';
import { encryptionSettings } from './crypto.js';
import { openPitrStore, pitrStoreDir } from './store.js';
import { archiveWalFile } from './archive.js';
import { slotName } from './enable.js';
import { HISTORY_RE, SEGMENT_RE } from './wal.js';

export interface StreamHandle {
  spool: string;
  /** Ships whatever is complete now (also runs every `intervalMs`). */
  shipNow(): Promise<string[]>;
  stop(): Promise<void>;
  /** Resolves when pg_receivewal exits. */
  exited: Promise<number>;
}

export async function startStreaming(
  ctx: Context,
  envName: string,
  opts: { env?: Record<string, string | undefined>; intervalMs?: number; onShip?: (name: string) => void; onError?: (msg: string) => void } = {},
): Promise<StreamHandle> {
  const { loaded } = ctx;
  const store = await openPitrStore(loaded, envName, encryptionSettings(loaded));
  const url = connectionUrl(loaded, envName, opts.env);
  const slot = slotName(envName);
  const exists = await withClient(url, async (c) => (await c.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).rowCount);
  if (!exists) throw new RefusedError(`replication slot ${slot} does not exist; run \`prodguard pitr enable --env ${envName}\` with pitr.method: streaming first`, 'pitr.no-slot');
  const spool = join(pitrStoreDir(loaded, envName), 'spool');
  mkdirSync(spool, { recursive: true, mode: 0o700 });

  let stderr = '';
  const tc = toolConn(url);
  const child: ChildProcess = spawn(pgBin('pg_receivewal'), ['-d', tc.conn, '-D', spool, '--slot', slot, '--synchronous', '--no-loop', '-n'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...tc.env } });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));

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
  const shipNow = () => (shipping ??= shipOnce().finally(() => (shipping = null)));
  const timer = setInterval(() => {
    shipNow().catch((err) => opts.onError?.(maskSecrets((err as Error).message)));
  }, opts.intervalMs ?? 500);

  await ctx.audit({ action: 'pitr.stream', command: `prodguard pitr stream --env ${envName}`, target: envName, verdict: 'ok', reason: `pg_receivewal started with slot ${slot}, spool ${spool}` });
  void exited.then((code) => {
    if (code !== 0 && !stopping) opts.onError?.(`pg_receivewal exited with ${code}: ${maskSecrets(stderr.trim().split('\n').pop() ?? '')}`);
  });
  let stopping = false;
  let stopped: Promise<void> | null = null;
  return {
    spool,
    shipNow,
    exited,
    // Idempotent: tests and signal handlers may both stop the receiver.
    stop() {
      stopped ??= (async () => {
        stopping = true;
        clearInterval(timer);
        if (child.exitCode === null) child.kill('SIGTERM');
        await exited;
        if (existsSync(spool)) await shipNow();
        await store.close();
      })();
      return stopped;
    },
  };
}

/** The CLI's long-running form: streams until SIGINT/SIGTERM or until pg_receivewal dies. */
export async function streamWal(ctx: Context, envName: string, opts: { onShip?: (name: string) => void } = {}): Promise<void> {
  let lastError = '';
  const h = await startStreaming(ctx, envName, { onShip: opts.onShip, onError: (m) => { lastError = m; process.stderr.write(`prodguard: ${m}\n`); } });
  const stop = () => void h.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const code = await h.exited;
  await h.stop();
  if (code !== 0 && code !== 143 && lastError) throw new RefusedError(lastError, 'pitr.stream-failed');
}
