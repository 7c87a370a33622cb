/**
 * Local working directories that hold plaintext (a directory-format dump before it is encrypted,
 * a decrypted backup before pg_restore reads it). They are 0700, and removed on every exit path
 * — including kill -9 of prodguard, which no handler inside the process can catch: a small
 * detached watchdog (`sh`) waits for this process to disappear and then removes the directory.
 * Each directory carries a `.prodguard-owner` file (pid), so `backup list --leftovers`,
 * `backup prune` and `status` can tell a crashed run's directory from a running one.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive } from '../os/process-alive.js';
import { runningServerPid, stopAndRemoveClusterSync } from '../pg/cluster-watchdog.js';

export const PRIVATE_DIR_PREFIXES = ['prodguard-dump-', 'prodguard-restore-', 'prodguard-verify-', 'prodguard-drill-'] as const;
const OWNER_FILE = '.prodguard-owner';

export interface PrivateDir {
  path: string;
  /** Removes the directory now and stops the watchdog. Idempotent. */
  dispose(): void;
}

const WATCHDOG = [
  // $0 = our pid, $1 = the directory. Poll until we are gone, then remove (retry: a child may still write).
  'while kill -0 "$0" 2>/dev/null; do sleep 0.2; done',
  // A pg_restore reading from our named pipes (stream-restore.ts) may be blocked opening one that
  // nobody will feed now: open each pipe once read-write, so it sees end-of-file and exits.
  'for f in "$1"/* "$1"/*/*; do if [ -p "$f" ]; then : 1<>"$f"; fi; done 2>/dev/null',
  'i=0; while [ -e "$1" ] && [ $i -lt 50 ]; do rm -rf -- "$1" 2>/dev/null; i=$((i+1)); [ -e "$1" ] && sleep 0.1; done',
].join('\n');

/**
 * Removes `path` once this process is gone, kill -9 included (a detached `sh` polls for it).
 * Returns the function that stops the watchdog (call it after removing the directory yourself).
 */
export function watchDirectory(path: string): () => void {
  let watchdog: ReturnType<typeof spawn> | null = null;
  try {
    watchdog = spawn('sh', ['-c', WATCHDOG, String(process.pid), path], { detached: true, stdio: 'ignore' });
    watchdog.on('error', () => {});
    watchdog.unref();
  } catch {
    watchdog = null; // no sh: the leftover is still reported and pruned
  }
  return () => {
    try {
      if (watchdog?.pid) process.kill(watchdog.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
}

export function openPrivateDir(prefix: (typeof PRIVATE_DIR_PREFIXES)[number], base: string = tmpdir()): PrivateDir {
  const path = mkdtempSync(join(base, prefix));
  chmodSync(path, 0o700);
  writeFileSync(join(path, OWNER_FILE), `${process.pid}\n`, { mode: 0o600 });
  const stopWatchdog = watchDirectory(path);
  let disposed = false;
  return {
    path,
    dispose() {
      if (disposed) return;
      disposed = true;
      rmSync(path, { recursive: true, force: true });
      stopWatchdog();
    },
  };
}

export interface LocalLeftover {
  path: string;
  bytes: number;
  modified: string;
  /** Owning prodguard process, when recorded. */
  ownerPid: number | null;
  /** The owner is still running: not a leftover yet, listed for information. */
  running: boolean;
  /**
   * A throw-away PostgreSQL server (verify, drill) still runs on this directory's restored data:
   * with its owner gone, a left-behind server that `backup prune` stops before removing the files.
   */
  serverPid: number | null;
}


function duBytes(p: string): number {
  let n = 0;
  try {
    const st = statSync(p);
    if (!st.isDirectory()) return st.size;
    for (const e of readdirSync(p)) n += duBytes(join(p, e));
  } catch {
    /* vanished */
  }
  return n;
}

/**
 * A throw-away cluster of verify or drill lives in a directory of the same name (`createCluster`
 * with `private`, which writes the same owner file). Its server may outlive a killed owner when the
 * watchdog could not stop it: reported with its pid, never as "in use" once the owner is gone.
 */
function serverPidOf(dir: string): number | null {
  return runningServerPid(join(dir, 'data'));
}

/** prodguard working directories in the temp dir (plaintext may be inside). */
export function findLocalLeftovers(base: string = tmpdir()): LocalLeftover[] {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return [];
  }
  const out: LocalLeftover[] = [];
  for (const n of names) {
    // Exactly what mkdtemp makes (prefix + 6 characters): another tool's directory that merely
    // starts alike (a test cluster named "prodguard-restore-staging-…") is never ours to remove.
    if (!PRIVATE_DIR_PREFIXES.some((p) => n.startsWith(p) && /^[A-Za-z0-9]{6}$/.test(n.slice(p.length)))) continue;
    const path = join(base, n);
    let ownerPid: number | null = null;
    try {
      ownerPid = Number(readFileSync(join(path, OWNER_FILE), 'utf8').trim()) || null;
    } catch {
      /* older versions wrote no owner file */
    }
    let modified = '';
    try {
      modified = statSync(path).mtime.toISOString();
    } catch {
      continue;
    }
    const ownerRunning = ownerPid !== null && ownerPid !== process.pid ? processAlive(ownerPid) : ownerPid === process.pid;
    const serverPid = serverPidOf(path);
    // No owner recorded (an older version's cluster): a running server is taken as in use.
    out.push({ path, bytes: duBytes(path), modified, ownerPid, running: ownerRunning || (ownerPid === null && serverPid !== null), serverPid });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** Removes leftovers whose owner is gone (or unknown and older than `graceMs`). */
export function removeLocalLeftovers(leftovers: LocalLeftover[], graceMs: number, now = Date.now()): string[] {
  const removed: string[] = [];
  for (const l of leftovers) {
    if (l.running) continue;
    if (l.ownerPid === null && now - Date.parse(l.modified) < graceMs) continue;
    // A left-behind server is stopped first: removing files under a running server would not end it.
    if (l.serverPid !== null) {
      if (!stopAndRemoveClusterSync(join(l.path, 'data'), l.path)) continue;
    } else if (existsSync(l.path)) rmSync(l.path, { recursive: true, force: true });
    removed.push(l.path);
  }
  return removed;
}
