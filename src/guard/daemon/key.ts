/**
 * Which resident decision process may judge a hook call, and where its socket lives. Kept to
 * node built-ins (fs, path, os, crypto): the lean hook client imports it on every call.
 *
 * The key is a hash of prodguard's build (the modules that decide), the project's prodguard.yaml
 * path and its exact bytes. A changed config (or an upgraded prodguard) gives a different key, so a
 * daemon started under the old one is never asked again; it also re-checks its key per request.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { findConfigFile } from '../../config/find.js';

const here = dirname(fileURLToPath(import.meta.url));
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
/** The modules whose change must retire a running daemon (tsc rewrites them all on a build). */
const BUILD_FILES = ['server', 'key', '../decide', '../hook', '../tool-call', '../rules/index', '../shell', '../target'].map((f) => join(here, f + ext));

/** The nearest prodguard.yaml from `cwd` up (config/find.ts: no YAML, no schema loaded). */
export const configFileFrom = findConfigFile;

function buildId(): string {
  return BUILD_FILES.map((f) => {
    try {
      const s = statSync(f);
      return `${s.mtimeMs}:${s.size}`;
    } catch {
      return '-';
    }
  }).join(',');
}

/** The key for a decision made in `cwd`: build + config path + config bytes. */
export function decisionKey(cwd: string): string {
  const file = configFileFrom(cwd);
  const h = createHash('sha256').update(buildId()).update('\0');
  if (file) {
    h.update(file).update('\0');
    try {
      h.update(readFileSync(file));
    } catch {
      // An unreadable config is judged in-process (where it is reported); never by a daemon.
      h.update(`unreadable ${Date.now()} ${Math.random()}`);
    }
  } else h.update('no config');
  return h.digest('hex').slice(0, 32);
}

/** The working directory an agent's hook input names (the adapters' rule; the daemon re-checks with theirs). */
export function hookCwd(input: unknown, fallback: string): string {
  if (!input || typeof input !== 'object') return fallback;
  const i = input as { cwd?: unknown; workspace_roots?: unknown };
  if (typeof i.cwd === 'string' && i.cwd) return i.cwd;
  if (Array.isArray(i.workspace_roots) && typeof i.workspace_roots[0] === 'string') return i.workspace_roots[0];
  return fallback;
}

const uid = (): number => (typeof process.getuid === 'function' ? process.getuid() : -1);

/**
 * The private socket directory: $XDG_RUNTIME_DIR/prodguard, else <tmp>/prodguard-<uid>. Only a
 * directory that is ours, not a symlink and closed to group and others (0700) is used: nobody
 * else can then create, replace or connect to a socket in it. null = no usable directory (the
 * hook decides in-process).
 */
export function privateDir(create: boolean, env: Record<string, string | undefined> = process.env): string | null {
  if (uid() < 0) return null;
  const runtime = env.XDG_RUNTIME_DIR && env.XDG_RUNTIME_DIR.startsWith('/') ? env.XDG_RUNTIME_DIR : null;
  const dir = runtime ? join(runtime, 'prodguard') : join(tmpdir(), `prodguard-${uid()}`);
  if (dir.length > 60) return null; // a socket path must stay under ~107 bytes
  if (create) {
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return null;
    }
  }
  try {
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== uid() || (st.mode & 0o077) !== 0) return null;
  } catch {
    return null;
  }
  return dir;
}

export function socketPath(dir: string, key: string): string {
  return join(dir, `${key}.sock`);
}

/** A socket file we may talk to: a socket, owned by us (in a directory only we can write). */
export function ownSocket(path: string): boolean {
  try {
    const st = lstatSync(path);
    return st.isSocket() && st.uid === uid() && (st.mode & 0o077) === 0;
  } catch {
    return false;
  }
}
