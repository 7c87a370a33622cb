/**
 * Running pg_dump / pg_dumpall for a backup. The connection string goes to the child without its
 * password (that travels as PGPASSWORD in the child's own environment, see pg/tool-conn.ts);
 * stderr is masked before it reaches a message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { pgBin } from '../pg/binaries.js';
import { runPgTool } from '../pg/run-tool.js';
import { maskSecrets } from '../security/mask.js';
import { dbnameArg } from '../pg/tool-conn.js';
import { ProdguardError } from '../errors.js';
import { toolEnv } from '../pg/tool-env.js';

export interface DumpProcess {
  child: ChildProcess;
  /** Resolves when pg_dump exits 0, rejects with its last stderr line otherwise. */
  finished: Promise<void>;
}

export interface DumpArgOptions { url: string; snapshot: string; format: 'custom' | 'directory'; compression: number; jobs: number; outDir?: string }

/** pg_dump's arguments (no password in them) and the environment that carries the password. */
export function dumpCommand(opts: DumpArgOptions): { args: string[]; env: Record<string, string> } {
  const args = ['--snapshot', opts.snapshot, '--no-password', `--compress=${opts.compression}`];
  if (opts.format === 'custom') args.push('--format=custom');
  else args.push('--format=directory', `--jobs=${opts.jobs}`, `--file=${opts.outDir}`);
  const db = dbnameArg(opts.url);
  args.push(db.arg);
  return { args, env: db.env };
}

export function spawnPgDump(args: string[], env: Record<string, string> = {}): DumpProcess {
  const child = spawn(pgBin('pg_dump'), args, { stdio: ['ignore', 'pipe', 'pipe'], env: toolEnv(env) });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const finished = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject(new ProdguardError(`cannot run pg_dump: ${err.message}`, { code: 'backup.pg-dump' })));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const last = stderr.trim().split('\n').filter(Boolean).slice(-1)[0] ?? (signal ? `killed by ${signal}` : `exit code ${code}`);
      reject(new ProdguardError(`pg_dump failed: ${maskSecrets(last)}`, { code: 'backup.pg-dump' }));
    });
  });
  return { child, finished };
}

export async function pgDumpVersion(): Promise<string> {
  const { stdout } = await runPgTool('pg_dump', ['--version']);
  return stdout.trim().replace(/^pg_dump \(PostgreSQL\)\s*/, '');
}

/**
 * Roles without passwords (`pg_dumpall --roles-only --no-role-passwords`), like
 * `supabase db dump --role-only`. Managed services may refuse it; then the backup records why
 * and carries on — the database dump does not depend on it.
 */
export async function dumpRoles(url: string): Promise<{ sql: string } | { skipped: string }> {
  const db = dbnameArg(url);
  const res = await runPgTool('pg_dumpall', ['--roles-only', '--no-role-passwords', '--no-password', db.arg], { allowFailure: true, env: db.env });
  if (res.code !== 0) {
    const last = res.stderr.trim().split('\n').filter(Boolean).slice(-1)[0] ?? `exit code ${res.code}`;
    return { skipped: `pg_dumpall --roles-only not permitted: ${maskSecrets(last)}` };
  }
  return { sql: res.stdout };
}
