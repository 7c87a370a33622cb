/**
 * Loading a materialized dump into a database with pg_restore. `--no-owner` because the target
 * rarely has the source's roles; parallel `-j` for directory format (and custom format read from
 * a seekable file, which is what materialize produces). Stops at the first error: a restore
 * that "mostly worked" is a failed restore.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pgBin } from '../pg/binaries.js';
import { maskSecrets } from '../security/mask.js';
import { dbnameArg } from '../pg/tool-conn.js';
import { ProdguardError } from '../errors.js';
import { toolEnv } from '../pg/tool-env.js';

export interface RestoreDumpOptions {
  jobs?: number;
  onProgress?: (line: string) => void;
  /** Skip GRANT/REVOKE (targets without the source's roles). */
  noAcl?: boolean;
  /** A pg_restore -L list: restore only these entries (a Supabase refresh leaves out platform-only ones). */
  listFile?: string;
}

export interface RunningRestore {
  child: ChildProcess;
  /** Resolves when pg_restore exits 0; rejects with its last error line otherwise. */
  finished: Promise<void>;
}

/**
 * Starts pg_restore on `dumpPath`, or on `stdin` when given (a custom-format stream: pg_restore
 * reads it sequentially, one job).
 */
export function startRestoreDump(dumpPath: string | null, targetUrl: string, opts: RestoreDumpOptions & { stdin?: Readable; extraArgs?: string[] } = {}): RunningRestore {
  const db = dbnameArg(targetUrl);
  const args = ['--no-owner', '--exit-on-error', '--no-password', db.arg, ...(opts.extraArgs ?? [])];
  if (opts.noAcl) args.push('--no-acl');
  if (opts.listFile) args.push('-L', opts.listFile);
  if (opts.jobs && opts.jobs > 1 && !opts.stdin) args.push(`--jobs=${opts.jobs}`);
  if (opts.onProgress) args.push('--verbose');
  if (dumpPath !== null) args.push(dumpPath);
  const child = spawn(pgBin('pg_restore'), args, { stdio: [opts.stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'], env: toolEnv(db.env) });
  if (opts.stdin) {
    // pg_restore stopping early (an error) closes the pipe: that is its failure to report, not ours.
    child.stdin!.on('error', () => {});
    opts.stdin.on('error', () => child.stdin!.destroy());
    opts.stdin.pipe(child.stdin!);
  }
  const finished = new Promise<void>((resolve, reject) => {
    let tail = '';
    let partial = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      tail = (tail + d).slice(-4000);
      if (opts.onProgress) {
        const lines = (partial + d).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) if (l.trim()) opts.onProgress(maskSecrets(l));
      }
    });
    child.on('error', (err) => reject(new ProdguardError(`cannot run pg_restore: ${err.message}`, { code: 'restore.pg-restore' })));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const errLine = tail.split('\n').filter((l) => /error/i.test(l)).slice(-1)[0] ?? tail.trim().split('\n').slice(-1)[0] ?? (signal ? `killed by ${signal}` : `exit code ${code}`);
      reject(new ProdguardError(`pg_restore failed: ${maskSecrets((errLine || `exit code ${code}`).trim())}`, { code: 'restore.pg-restore' }));
    });
  });
  finished.catch(() => {});
  return { child, finished };
}

export async function restoreDump(dumpPath: string, targetUrl: string, opts: RestoreDumpOptions = {}): Promise<void> {
  await startRestoreDump(dumpPath, targetUrl, opts).finished;
}
