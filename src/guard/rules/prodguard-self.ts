/** prodguard itself: its commands have their own gates, except the ones that rewrite its policy or hooks. */
import type { GuardRule } from './types.js';

export const rule: GuardRule = {
  id: 'prodguard-self',
  tools: ['prodguard'],
  severity: 'error',
  title: 'prodguard commands that overwrite its policy or hooks',
  explanation: '`prodguard check`, `guard --`, `backup`, `lint`, `migrate deploy` carry their own checks and are allowed. `init --force` overwrites prodguard.yaml and `install <agent> --command …` replaces the hook with any command: a person does those, not an agent.',
  examples: { deny: ['prodguard init --yes --force', 'prodguard install claude-code --command true'], allow: ['prodguard check "supabase db reset --linked"', 'prodguard backup create --env production', 'prodguard status'] },
  check(inv, h) {
    const [verb] = inv.args.filter((a) => !a.startsWith('-'));
    const target = { name: null, kind: 'unknown' as const, label: 'prodguard', via: 'prodguard.yaml and the agent hooks' };
    void h;
    if (verb === 'init' && inv.args.some((a) => a === '--force' || a === '-f')) return { risk: 'destructive', effect: 'overwrites prodguard.yaml (the policy the guard enforces) for', target, alternative: 'Edit prodguard.yaml yourself, outside the agent.' };
    if (verb === 'install' && inv.args.some((a) => a === '--command' || a.startsWith('--command=') || a === '--prodguard' || a.startsWith('--prodguard='))) return { risk: 'destructive', effect: 'replaces the guard hook with another command for', target, alternative: 'Run `prodguard install <agent>` without --command yourself.' };
    return null;
  },
};
