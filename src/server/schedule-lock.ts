/**
 * Without leader election, two `serve` processes on one machine and one SQLite store would both
 * run every job. The scheduler therefore holds a lock file next to the store (created with O_EXCL,
 * holding its pid); a lock whose process is gone is stale and taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { UsageError } from '../errors.js';
import { processAlive } from '../os/process-alive.js';


export function acquireScheduleLock(file: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
      closeSync(fd);
      return () => {
        try {
          if (JSON.parse(readFileSync(file, 'utf8')).pid === process.pid) unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder: { pid: number; host: string } | null = null;
      try {
        holder = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; host: string };
      } catch {
        holder = null; // half-written by a process that died: stale
      }
      if (holder && (holder.host !== hostname() || processAlive(holder.pid))) {
        throw new UsageError(
          `another prodguard serve (pid ${holder.pid} on ${holder.host}) already runs the schedule for this state store (${file}); start this one with --no-scheduler, or configure server.leader for several servers`,
          'serve.already-running',
        );
      }
      try {
        unlinkSync(file);
      } catch {
        /* someone else cleaned it */
      }
    }
  }
  throw new UsageError(`cannot take the schedule lock ${file}`, 'serve.lock');
}
