/**
 * kill -9 of the process that started a throw-away cluster holding restored production data
 * (backup verify, drills) must not leave that server running: pg_ctl puts the postmaster in its
 * own session, so killing prodguard's process group does not reach it, and no exit handler runs.
 * A small detached `sh` (its own process group too) waits for the owner to disappear, then stops
 * the server (SIGQUIT: immediate shutdown; SIGKILL if it lingers) and removes the cluster's whole
 * directory. Also used by `backup prune` to stop a left-behind server before removing its files.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../os/process-alive.js';

/** Stops the postmaster of `dataDir` (if one runs), then removes `baseDir`. $0 = dataDir, $1 = baseDir. */
const STOP_AND_REMOVE = [
  'if [ -f "$0/postmaster.pid" ]; then',
  '  p=$(head -n 1 "$0/postmaster.pid" 2>/dev/null)',
  '  case "$p" in ""|*[!0-9]*) p="";; esac',
  '  if [ -n "$p" ] && [ "$p" -gt 1 ]; then',
  '    kill -QUIT "$p" 2>/dev/null; i=0',
  '    while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done',
  '    kill -KILL "$p" 2>/dev/null',
  '  fi',
  'fi',
  'i=0; while [ -e "$1" ] && [ $i -lt 50 ]; do rm -rf -- "$1" 2>/dev/null; i=$((i+1)); [ -e "$1" ] && sleep 0.1; done',
].join('\n');

const WATCHDOG = `while kill -0 "$2" 2>/dev/null; do sleep 0.2; done\n${STOP_AND_REMOVE}`;

/**
 * Watches this process: once it is gone (kill -9 included), the server on `dataDir` is stopped and
 * `baseDir` removed. Returns the function that stops the watchdog (after a normal destroy()).
 */
export function watchCluster(dataDir: string, baseDir: string): () => void {
  let watchdog: ReturnType<typeof spawn> | null = null;
  try {
    watchdog = spawn('sh', ['-c', WATCHDOG, dataDir, baseDir, String(process.pid)], { detached: true, stdio: 'ignore' });
    watchdog.on('error', () => {});
    watchdog.unref();
  } catch {
    watchdog = null; // no sh: the owner file lets status and `backup list --leftovers` report it
  }
  return () => {
    try {
      if (watchdog?.pid) process.kill(watchdog.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
}

/** The pid of the PostgreSQL server running on `dataDir`, or null when none runs. */
export function runningServerPid(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 1 && processAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** Stops a left-behind server on `dataDir` (if one runs) and removes `baseDir`; true when it is gone. */
export function stopAndRemoveClusterSync(dataDir: string, baseDir: string): boolean {
  spawnSync('sh', ['-c', STOP_AND_REMOVE, dataDir, baseDir], { stdio: 'ignore' });
  return !existsSync(baseDir);
}
