/**
 * The hook's side of the resident decision process: ask it over its private Unix socket, or start
 * it (detached) for the next call. Anything short of a well-formed answer from a daemon holding the
 * same key — no socket, a socket not ours, a refused or slow connection, a stale daemon — returns
 * null, and the hook decides in-process (which fails closed on its own).
 */
import { closeSync, openSync, statSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decisionKey, hookCwd, ownSocket, privateDir, socketPath } from './key.js';

export interface DaemonAnswer {
  stdout: string;
  stderr: string;
  code: number;
}

export interface DaemonRequest {
  v: 1;
  key: string;
  agent: string;
  stdin: string;
  env: Record<string, string | undefined>;
  /** The hook process's working directory (used when the input names none). */
  cwd: string;
}

/** Environment switch: PRODGUARD_GUARD_DAEMON=off decides in-process only (slower, same decisions). */
export function daemonEnabled(env: Record<string, string | undefined>): boolean {
  return !/^(off|0|no|false)$/i.test(env.PRODGUARD_GUARD_DAEMON ?? '');
}

/** One request, one JSON line back. null on any failure. */
export function ask(sock: string, req: DaemonRequest, timeoutMs: number): Promise<DaemonAnswer | null> {
  return new Promise((resolve) => {
    let done = false;
    const chunks: Buffer[] = [];
    const finish = (a: DaemonAnswer | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(a);
    };
    const socket = connect(sock);
    const timer = setTimeout(() => finish(null), timeoutMs);
    socket.on('error', () => finish(null));
    socket.on('connect', () => socket.end(JSON.stringify(req) + '\n'));
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', () => {
      try {
        const a = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        if (a.key !== req.key || a.stale) return finish(null);
        if (typeof a.stdout !== 'string' || typeof a.stderr !== 'string' || typeof a.code !== 'number' || !Number.isInteger(a.code)) return finish(null);
        finish({ stdout: a.stdout, stderr: a.stderr, code: a.code });
      } catch {
        finish(null);
      }
    });
  });
}

/** The daemon's entry next to this file (server.js; server.ts under tsx). */
export function serverEntry(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, import.meta.url.endsWith('.ts') ? 'server.ts' : 'server.js');
}

/**
 * Starts the daemon for `key` in the background unless one is already starting (a marker file
 * younger than 15 s); it inherits this process's node flags (tsx in tests) and environment.
 */
export async function startDaemon(dir: string, key: string, cwd: string): Promise<void> {
  const marker = join(dir, `${key}.starting`);
  try {
    closeSync(openSync(marker, 'wx', 0o600));
  } catch {
    try {
      if (Date.now() - statSync(marker).mtimeMs < 15_000) return;
      unlinkSync(marker);
      closeSync(openSync(marker, 'wx', 0o600));
    } catch {
      return;
    }
  }
  try {
    // Loaded only here: most calls never start a daemon.
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [...process.execArgv, serverEntry(), key, cwd], { cwd, detached: true, stdio: 'ignore', env: process.env });
    child.on('error', () => {});
    child.unref();
  } catch {
    /* the next call tries again */
  }
}

/**
 * The hook's fast path: the answer of a live daemon holding this project's key, or null (after
 * starting one for the next call when none is there).
 */
export async function viaDaemon(agent: string, stdin: string, env: Record<string, string | undefined>, processCwd: string, opts: { timeoutMs?: number; start?: boolean } = {}): Promise<DaemonAnswer | null> {
  if (!daemonEnabled(env)) return null;
  let input: unknown;
  try {
    input = JSON.parse(stdin);
  } catch {
    return null; // the in-process hook refuses unreadable input with its own message
  }
  const cwd = hookCwd(input, processCwd);
  const dir = privateDir(opts.start !== false, env);
  if (!dir) return null;
  const key = decisionKey(cwd);
  const sock = socketPath(dir, key);
  if (ownSocket(sock)) {
    const a = await ask(sock, { v: 1, key, agent, stdin, env, cwd: processCwd }, opts.timeoutMs ?? 5_000);
    if (a) return a;
  }
  if (opts.start !== false) await startDaemon(dir, key, cwd);
  return null;
}
