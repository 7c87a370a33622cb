/**
 * The 0700 scratch directory of a staging refresh. It never holds table data: the dump streams
 * from the decrypting reader into the private database (backup/stream-restore.ts); only the
 * dump's table of contents (schema, no rows) and small lists pass through it. Removed on every
 * exit path — success, error, SIGINT, SIGTERM, SIGHUP, and kill -9 (a detached watchdog removes it
 * once this process is gone); a directory whose watchdog could not run is named after its pid and
 * removed by the next refresh once that pid is gone.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive } from '../os/process-alive.js';
import { watchDirectory } from '../backup/private-dir.js';

const PREFIX = 'prodguard-refresh-';
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;


/** Removes scratch directories of refreshes whose process no longer exists. */
export function removeStaleWorkdirs(root = tmpdir()): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(root)) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    rmSync(join(root, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

export interface Workdir {
  path: string;
  /** Idempotent. */
  remove(): void;
}

export function openWorkdir(root = tmpdir()): Workdir {
  removeStaleWorkdirs(root);
  const path = mkdtempSync(join(root, `${PREFIX}${process.pid}-`)); // mode 0700
  const stopWatchdog = watchDirectory(path);
  const handlers = new Map<string, () => void>();
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    rmSync(path, { recursive: true, force: true });
    stopWatchdog();
    for (const [sig, h] of handlers) process.removeListener(sig, h);
  };
  for (const sig of SIGNALS) {
    const h = () => {
      remove();
      // Default behaviour of the signal once the plaintext is gone (exit with 128+n).
      process.kill(process.pid, sig);
    };
    handlers.set(sig, h);
    process.once(sig, h);
  }
  return { path, remove };
}
