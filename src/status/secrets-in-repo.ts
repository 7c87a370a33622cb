/**
 * Finds secrets that live inside the project's repository: private keys (PEM private keys, age
 * identities) and the production connection URL or its password. What git would commit (tracked,
 * or untracked and not ignored) is a leak waiting to happen; what is ignored but inside the tree
 * still travels with every copy of the directory. Never returns the secret itself, only where.
 */
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { configPath } from '../config/load.js';
import { tryConnectionUrl } from '../config/connection.js';
import { parseConnInfo } from '../pg/conninfo.js';
import { committableFilesContaining, gitExposure, gitRoot, isInside, type GitExposure } from '../security/repo-paths.js';

export interface SecretFinding {
  /** Path relative to the repository (or project) root. */
  file: string;
  what: string;
  exposure: GitExposure | 'no-git';
}

/** Directories that hold dependencies, builds or bulk data, not hand-placed secrets. */
const SKIP_DIRS = new Set(['.git', 'node_modules', 'dist', 'build', '.next', 'vendor', 'target', 'backups', 'wal']);
const KEY_NAME = /\.(key|pem|txt|age|identity)$|^id_ed25519$|^id_rsa$/;
const KEY_CONTENT = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----|AGE-SECRET-KEY-1/;
const MAX_ENTRIES = 20_000;
const MAX_KEY_BYTES = 64 * 1024;

function head(file: string, bytes: number): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Private key files under `root`, found by name and confirmed by content (bounded walk). */
function privateKeyFiles(root: string): string[] {
  const found: string[] = [];
  let seen = 0;
  const walk = (dir: string, depth: number) => {
    if (depth > 8 || seen > MAX_ENTRIES) return;
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (++seen > MAX_ENTRIES) return;
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) walk(p, depth + 1);
      } else if (e.isFile() && KEY_NAME.test(e.name)) {
        try {
          if (statSync(p).size <= MAX_KEY_BYTES && KEY_CONTENT.test(head(p, MAX_KEY_BYTES))) found.push(p);
        } catch {
          /* unreadable: not ours to judge */
        }
      }
    }
  };
  walk(root, 0);
  return found;
}

export function findSecretsInRepo(loaded: LoadedConfig, env: Record<string, string | undefined> = process.env): { root: string; git: boolean; findings: SecretFinding[] } {
  const repo = gitRoot(loaded.root);
  const root = repo ?? loaded.root;
  const exposure = (file: string): SecretFinding['exposure'] => (repo ? gitExposure(repo, file) : 'no-git');
  const findings: SecretFinding[] = [];
  for (const f of privateKeyFiles(root)) findings.push({ file: relative(root, f), what: 'private key', exposure: exposure(f) });

  for (const [name, e] of Object.entries(loaded.config.environments)) {
    if (e.kind !== 'production') continue;
    const what = `production URL of "${name}"`;
    if (e.urlFile) {
      const file = configPath(loaded, e.urlFile);
      if (isInside(file, root)) findings.push({ file: relative(root, file), what, exposure: exposure(file) });
    }
    const url = tryConnectionUrl(loaded, name, env);
    if (!url || !repo) continue;
    const password = parseConnInfo(url)?.password;
    const needles = [url, ...(password && password.length >= 6 ? [password] : [])];
    for (const rel of committableFilesContaining(repo, needles)) {
      if (e.urlFile && join(repo, rel) === configPath(loaded, e.urlFile)) continue;
      findings.push({ file: rel, what, exposure: exposure(join(repo, rel)) });
    }
  }
  return { root, git: !!repo, findings };
}
