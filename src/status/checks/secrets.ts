import type { StatusCheck } from '../types.js';
import { safe } from './helpers.js';
import { findSecretsInRepo } from '../secrets-in-repo.js';

const HOW: Record<string, string> = {
  tracked: 'is tracked by git',
  unignored: 'is not ignored by git',
  ignored: 'is inside the repository (ignored by git)',
  'no-git': 'is inside the project directory',
};

/** Scorecard check: no private key or production URL inside the repository (issue #11). */
export const checks: StatusCheck[] = [
  {
    rule: 4,
    id: 'secrets.outside-repo',
    title: 'private keys and production URLs are kept outside the repository',
    run: safe(async (ctx) => {
      const r = findSecretsInRepo(ctx.loaded);
      if (r.findings.length === 0) return { state: 'ok', reason: `no private key or production URL found in ${r.root}` };
      const exposed = r.findings.some((f) => f.exposure === 'tracked' || f.exposure === 'unignored');
      const lines = r.findings.map((f) => (f.what === 'private key' ? `private key ${f.file} ${HOW[f.exposure]}` : `${f.what} is in ${f.file} (${HOW[f.exposure].replace(/^is /, '')})`));
      return {
        state: exposed ? 'failing' : 'missing',
        reason: `${lines.join('; ')} — move private keys to ~/.config/prodguard/keys (the default of prodguard keys generate) and production URLs to the CI's secrets`,
        details: { findings: r.findings },
      };
    }),
  },
];
