import { appTarget, flag, longValue, positionalsOf } from './common.js';
import type { GuardRule } from './types.js';

/** The env variable the datasource url reads: `url = env("X")` in schema.prisma. */
function schemaUrlVars(text: string | null): string[] {
  if (!text) return [];
  return [...text.matchAll(/(?:url|directUrl)\s*=\s*env\(\s*"([A-Za-z_][A-Za-z0-9_]*)"\s*\)/g)].map((m) => m[1]).reverse();
}

export const rule: GuardRule = {
  id: 'prisma',
  tools: ['prisma'],
  severity: 'error',
  title: 'prisma migrate reset / db push --accept-data-loss / migrate deploy',
  explanation: '`prisma migrate reset` drops the database and re-applies migrations; `db push --accept-data-loss`/`--force-reset` drop columns or the whole schema; `migrate dev` may reset; `migrate deploy`, `db push` and `migrate resolve` change production without approval — use `prodguard migrate deploy`. The target is the datasource url in schema.prisma (env var, then .env).',
  examples: { deny: ['DATABASE_URL="$PROD_URL" npx prisma migrate reset --force', 'dotenv -e .env.production -- prisma db push --accept-data-loss'], allow: ['npx prisma migrate reset --force', 'prisma generate', 'prisma migrate status', 'prisma format'] },
  async check(inv, h) {
    const pos = positionalsOf(inv.args.filter((a, i) => !(inv.args[i - 1] === '--schema' || inv.args[i - 1] === '--file' || inv.args[i - 1] === '--url')));
    const cmd = pos.slice(0, 2).join(' ');
    const schemaPath = longValue(inv.args, '--schema') ?? (h.readFile('prisma/schema.prisma') !== null ? 'prisma/schema.prisma' : 'schema.prisma');
    const vars = schemaUrlVars(h.readFile(schemaPath));
    // Prisma loads .env (project root, then prisma/), never .env.local or .env.$NODE_ENV
    // (https://www.prisma.io/docs/orm/more/development-environment/environment-variables).
    const spec = appTarget(inv, longValue(inv.args, '--url'), vars);
    if (spec.dotenvFiles) spec.dotenvFiles = ['.env', 'prisma/.env'];
    const target = h.target(spec);
    if (cmd === 'migrate reset') return { risk: 'destructive', effect: 'drops every table and re-applies migrations in', target, alternative: 'Reset only a local database; use `prodguard restore` to rebuild staging.' };
    if (cmd === 'db push' && flag(inv.args, '', ['accept-data-loss', 'force-reset'])) return { risk: 'destructive', effect: 'pushes the schema accepting data loss (drops columns/tables) to', target, alternative: 'Generate a migration (`prisma migrate dev --create-only`) and ship it with `prodguard migrate`.' };
    if (cmd === 'migrate dev') return { risk: 'destructive', effect: 'may reset the database (migrate dev is for development) of', target, alternative: 'Run `migrate dev` against a local database only.' };
    if (cmd === 'migrate deploy' || cmd === 'db push' || cmd === 'migrate resolve') return { risk: 'change', effect: `applies schema changes without approval (prisma ${cmd}) to`, target, alternative: 'Use `prodguard migrate deploy` (staging first, two approvals, backup).' };
    if (cmd === 'db execute') {
      const file = longValue(inv.args, '--file');
      const text = file ? h.readFile(file) : inv.stdin?.text ?? null;
      return h.sql(text, target, file ? `file ${file}` : 'stdin');
    }
    return null;
  },
};
