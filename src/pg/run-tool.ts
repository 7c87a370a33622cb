/**
 * Running PostgreSQL's command-line tools. Connection URLs go to the child through the
 * environment or arguments, never through our logs: stderr is masked before it is shown.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { pgBin, type PgProgram } from './binaries.js';
import { ProdguardError } from '../errors.js';
import { maskSecrets } from '../security/mask.js';
import { toolEnv } from './tool-env.js';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Run as this OS user (root → postgres for server programs). */
  asUser?: string;
  input?: string;
  /** Don't throw on non-zero exit. */
  allowFailure?: boolean;
}

/** Wraps a command to run as another OS user when we are root (initdb and postgres refuse root). */
export function asUserCommand(cmd: string, args: string[], user?: string): [string, string[]] {
  if (!user) return [cmd, args];
  return ['runuser', ['-u', user, '--', cmd, ...args]];
}

export function runCommand(cmd: string, args: string[], opts: RunOptions = {}): Promise<ToolResult> {
  const [c, a] = asUserCommand(cmd, args, opts.asUser);
  return new Promise((resolve, reject) => {
    const so: SpawnOptions = { cwd: opts.cwd, env: toolEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] };
    const child = spawn(c, a, so);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', (err) => reject(new ProdguardError(`cannot run ${cmd}: ${err.message}`, { code: 'tool.spawn' })));
    child.on('close', (code) => {
      const res = { code: code ?? 1, stdout, stderr };
      if (res.code !== 0 && !opts.allowFailure) {
        const line = maskSecrets(stderr.trim().split('\n').filter(Boolean).slice(-1)[0] ?? `exit code ${res.code}`);
        reject(new ProdguardError(`${cmd.split('/').pop()} failed: ${line}`, { code: 'tool.failed' }));
      } else resolve(res);
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

export function runPgTool(program: PgProgram, args: string[], opts: RunOptions = {}): Promise<ToolResult> {
  return runCommand(pgBin(program, { ...process.env, ...opts.env }), args, opts);
}
