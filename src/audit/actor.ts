/**
 * Who is acting: `ci` in CI, else the git identity, else the OS user. PRODGUARD_ACTOR overrides
 * it (used by the demo to play several people); it names, it does not authorise — approvals are
 * signatures, not names.
 */
import { spawnSync } from 'node:child_process';
import { currentOsUser } from '../pg/cluster.js';

let cached: string | undefined;

export function isCi(env: Record<string, string | undefined> = process.env): boolean {
  return env.CI === 'true' || env.CI === '1';
}

export function currentActor(env: Record<string, string | undefined> = process.env): string {
  if (env.PRODGUARD_ACTOR) return env.PRODGUARD_ACTOR;
  if (isCi(env)) return env.GITHUB_ACTOR ? `ci:${env.GITHUB_ACTOR}` : 'ci';
  if (cached) return cached;
  const git = spawnSync('git', ['config', 'user.email'], { encoding: 'utf8', timeout: 2000 });
  const email = git.status === 0 ? git.stdout.trim() : '';
  cached = email ? `${email} (${currentOsUser()})` : currentOsUser();
  return cached;
}
