/**
 * Other frameworks' database commands: Laravel (`php artisan migrate:fresh`, `db:wipe`) and
 * Elixir/Ecto (`mix ecto.drop`, `ecto.reset`). The environment is `--env=` / APP_ENV / MIX_ENV,
 * else the URL variables and .env files.
 */
import { appTarget, longValue } from './common.js';
import type { GuardRule } from './types.js';

const ARTISAN: Record<string, 'destructive' | 'change'> = { 'migrate:fresh': 'destructive', 'migrate:reset': 'destructive', 'migrate:rollback': 'destructive', 'migrate:refresh': 'destructive', 'db:wipe': 'destructive', migrate: 'change', 'db:seed': 'change' };
const MIX: Record<string, 'destructive' | 'change'> = { 'ecto.drop': 'destructive', 'ecto.reset': 'destructive', 'ecto.rollback': 'destructive', 'ecto.migrate': 'change', 'ecto.load': 'destructive' };

export const rule: GuardRule = {
  id: 'frameworks',
  tools: ['artisan', 'mix'],
  severity: 'error',
  title: 'Laravel artisan and Ecto (mix) commands that drop, wipe or migrate',
  explanation: '`artisan migrate:fresh`/`db:wipe` drop every table; `mix ecto.drop`/`ecto.reset` drop the database. The target is the framework environment (`--env=production`, APP_ENV, MIX_ENV=prod) or DB_URL/DATABASE_URL from the environment and .env.',
  examples: { deny: ['php artisan migrate:fresh --force --env=production', 'MIX_ENV=prod mix ecto.drop'], allow: ['php artisan route:list', 'mix ecto.drop'] },
  check(inv, h) {
    const verb = inv.args.find((a) => !a.startsWith('-')) ?? '';
    const risk = inv.tool === 'artisan' ? ARTISAN[verb] : MIX[verb];
    if (!risk) return null;
    const env = inv.tool === 'artisan' ? longValue(inv.args, '--env') ?? inv.env.APP_ENV : inv.env.MIX_ENV;
    const spec = env ? { environmentName: env === 'prod' ? 'production' : env } : appTarget(inv, undefined, ['DB_URL']);
    if (!env && inv.tool === 'mix') return { risk, effect: `runs ${verb} (MIX_ENV=dev) on`, target: h.target({ environmentName: 'development' }) };
    return { risk, effect: `runs ${verb} on`, target: h.target(spec), alternative: 'Run it against development; production changes go through `prodguard migrate`.' };
  },
};
