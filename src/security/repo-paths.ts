/**
 * Is a file inside a git repository, and would git commit it? Used to keep private keys and
 * production URLs out of repositories (keys generate warns, status reports). Asks git itself
 * (check-ignore, ls-files) so .gitignore rules, nested ignores and global excludes all count.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, relative, resolve, sep, isAbsolute } from 'node:path';

export type GitExposure = 'tracked' | 'unignored' | 'ignored';

function git(cwd: string, args: string[]): { code: number; out: string } {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return { code: r.status ?? 1, out: r.stdout ?? '' };
}

/** The top of the git work tree containing `path` (a file or directory; need not exist yet), or null. */
export function gitRoot(path: string): string | null {
  let dir = resolve(path);
  while (!existsSync(dir)) {
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
  const r = git(dir, ['rev-parse', '--show-toplevel']);
  return r.code === 0 ? r.out.trim() || null : null;
}

export function isInside(path: string, root: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}

/** How git sees a file inside `root`'s work tree: tracked, committable (not ignored), or ignored. */
export function gitExposure(root: string, file: string): GitExposure {
  const rel = relative(root, resolve(file));
  if (git(root, ['ls-files', '--error-unmatch', '--', rel]).code === 0) return 'tracked';
  return git(root, ['check-ignore', '-q', '--', rel]).code === 0 ? 'ignored' : 'unignored';
}

/** Files git would commit (tracked, or untracked and not ignored) that contain any of `needles`. */
export function committableFilesContaining(root: string, needles: string[]): string[] {
  if (needles.length === 0) return [];
  const args = ['grep', '-l', '-I', '-F', '--untracked'];
  for (const n of needles) args.push('-e', n);
  const r = git(root, args);
  return r.code === 0 ? r.out.split('\n').filter(Boolean) : [];
}
