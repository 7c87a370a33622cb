import { appTarget, worstTarget, longValue } from './common.js';
import type { GuardRule } from './types.js';

const DESTRUCTIVE: Record<string, string> = {
  'db:drop': 'drops the database',
  'db:drop:all': 'drops every database of',
  'db:reset': 'drops and recreates the database',
  'db:schema:load': 'recreates every table (dropping the data) in',
  'db:structure:load': 'recreates every table (dropping the data) in',
  'db:migrate:reset': 'drops the database and re-runs every migration in',
  'db:rollback': 'rolls back migrations (dropping what they created) in',
  'db:migrate:down': 'reverts a migration in',
  'db:migrate:redo': 'reverts and re-applies migrations in',
  'db:purge': 'empties the database',
  'db:purge:all': 'empties every database of',
  'db:truncate_all': 'truncates every table in',
  'db:seed:replant': 'truncates every table and reseeds',
  'db:setup': 'loads the schema (dropping tables) into',
};

export const rule: GuardRule = {
  id: 'rails',
  tools: ['rails', 'rake'],
  severity: 'error',
  title: 'rails / rake db:drop, db:reset, db:schema:load, db:rollback …',
  explanation: 'These tasks drop or empty the database of the current Rails environment. The environment comes from RAILS_ENV/RACK_ENV, `-e`, or `RAILS_ENV=…` as an argument (development when none); DATABASE_URL overrides config/database.yml. `db:migrate` on production needs approval (`prodguard migrate deploy`).',
  examples: { deny: ['RAILS_ENV=production bin/rails db:drop', 'bundle exec rake db:schema:load RAILS_ENV=production'], allow: ['bin/rails db:migrate', 'rails db:reset', 'rails routes'] },
  check(inv, h) {
    const tasks = inv.args.filter((a) => a.startsWith('db:'));
    if (inv.args[0] === 'dbconsole' || inv.args[0] === 'db') {
      const env1 = inv.args.find((a) => /^(RAILS_ENV|RACK_ENV)=/.test(a))?.split('=')[1] ?? longValue(inv.args, '-e', '--environment') ?? inv.env.RAILS_ENV ?? inv.env.RACK_ENV ?? 'development';
      const t1 = (inv.env.DATABASE_URL ? worstTarget(h.target(appTarget(inv, inv.env.DATABASE_URL)), h.target({ environmentName: env1 })) : h.target({ environmentName: env1 }));
      if (!inv.stdin) return { risk: 'read', effect: 'opens an interactive session on', target: t1 };
      return h.sql(inv.stdin.text, t1, `rails dbconsole stdin from ${inv.stdin.from}`);
    }
    if (inv.args[0] === 'runner' || inv.args[0] === 'r' || inv.args[0] === 'console' || inv.args[0] === 'c') {
      if (inv.args.includes('--help') || inv.args.includes('-h')) return null;
      const env0 = inv.args.find((a) => /^(RAILS_ENV|RACK_ENV)=/.test(a))?.split('=')[1] ?? longValue(inv.args, '-e', '--environment') ?? inv.env.RAILS_ENV ?? inv.env.RACK_ENV ?? 'development';
      const t = (inv.env.DATABASE_URL ? worstTarget(h.target(appTarget(inv, inv.env.DATABASE_URL)), h.target({ environmentName: env0 })) : h.target({ environmentName: env0 }));
      return { risk: 'opaque', effect: `runs Ruby code (rails ${inv.args[0]}) the guard cannot check against`, target: t, alternative: 'Run it against development or staging.' };
    }
    const argEnv = inv.args.find((a) => /^(RAILS_ENV|RACK_ENV)=/.test(a))?.split('=')[1];
    const railsEnv = argEnv ?? longValue(inv.args, '-e', '--environment') ?? inv.env.RAILS_ENV ?? inv.env.RACK_ENV ?? 'development';
    for (const t of tasks) {
      const d = DESTRUCTIVE[t];
      const change = t === 'db:migrate' || t === 'db:migrate:up' || t === 'db:seed' || t === 'db:prepare';
      if (!d && !change) continue;
      const url = inv.env.DATABASE_URL;
      // DATABASE_URL and the Rails environment both count: the worse decides (database.yml may ignore the URL).
      const target = url ? worstTarget(h.target(appTarget(inv, url)), h.target({ environmentName: railsEnv })) : h.target(inv.opaque.length ? { opaque: inv.opaque[0] } : { environmentName: railsEnv });
      if (d) return { risk: 'destructive', effect: d.endsWith(' in') || d.endsWith(' of') || d.endsWith('into') || d.endsWith('reseeds') ? d : d + ' of', target, alternative: 'Run it against development only; rebuild staging with `prodguard restore`.' };
      return { risk: 'change', effect: `applies migrations without approval (${t}) to`, target, alternative: 'Use `prodguard migrate deploy`.' };
    }
    return null;
  },
};
