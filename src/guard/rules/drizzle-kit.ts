import { appTarget, longValue, positionalsOf, worstTarget } from './common.js';
import type { GuardRule } from './types.js';

export const rule: GuardRule = {
  id: 'drizzle-kit',
  tools: ['drizzle-kit'],
  severity: 'error',
  title: 'drizzle-kit push / drop / migrate',
  explanation: '`drizzle-kit push` applies the schema directly (dropping columns and tables that left the code, with --force without asking); `drop` deletes migrations; `migrate` applies them without approval. The target is the config\'s dbCredentials (DATABASE_URL from the environment or .env).',
  examples: { deny: ['DATABASE_URL="$PROD_URL" npx drizzle-kit push --force', 'NODE_ENV=production drizzle-kit migrate'], allow: ['drizzle-kit generate', 'drizzle-kit studio', 'drizzle-kit check'] },
  check(inv, h) {
    const cmd = positionalsOf(inv.args)[0]?.replace(/:.*$/, '');
    const config = longValue(inv.args, '--config') ?? ['drizzle.config.ts', 'drizzle.config.js', 'drizzle.config.mjs'].find((f) => h.readFile(f) !== null);
    const text = config ? h.readFile(config) : null;
    const vars = text ? [...text.matchAll(/process\.env\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]) : [];
    const spec = appTarget(inv, longValue(inv.args, '--url'), vars);
    // A config that loads its own env file (`dotenv.config({ path: '.env.production' })`) reads that file first.
    const own = text ? [...text.matchAll(/path\s*:\s*['"`]([^'"`]+)['"`]/g)].map((m) => m[1]).filter((f) => /\.env/.test(f)) : [];
    // dotenv.config does not override variables already set, but `override: true` does: the worse counts.
    const target = own.length && spec.dotenvFiles ? worstTarget(h.target(spec), h.target({ ...spec, dotenvFiles: own, skipEnv: true })) : h.target(spec);
    if (cmd === 'push') return { risk: 'destructive', effect: 'pushes the schema directly (may drop columns and tables) to', target, alternative: 'Generate a migration (`drizzle-kit generate`) and ship it with `prodguard migrate`.' };
    if (cmd === 'drop') return { risk: 'destructive', effect: 'drops a migration that may already be applied to', target, alternative: 'Write a new forward migration instead.' };
    if (cmd === 'migrate' || cmd === 'up') return { risk: 'change', effect: 'applies migrations without approval to', target, alternative: 'Use `prodguard migrate deploy`.' };
    return null;
  },
};
