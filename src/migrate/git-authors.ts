/**
 * Who wrote a change, according to git: the authors (name and email) of every commit that touched
 * one of its migration files. The requester's name is self-declared (PRODGUARD_ACTOR); git history
 * is a second, independent source, so a senior who committed part of a change cannot approve it
 * even when somebody else ran `migrate request`. Outside a git work tree this is empty.
 */
import { spawnSync } from 'node:child_process';

export interface GitAuthor {
  name: string;
  email: string;
  file: string;
}

export function gitAuthors(root: string, paths: string[]): GitAuthor[] {
  const out: GitAuthor[] = [];
  for (const p of paths) {
    const r = spawnSync('git', ['log', '--format=%an%x09%ae', '--', p], { cwd: root, encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) continue;
    for (const line of new Set(r.stdout.split('\n').filter(Boolean))) {
      const [name, email] = line.split('\t');
      out.push({ name, email, file: p.split('/').pop() ?? p });
    }
  }
  return out;
}
