import { appTarget, longValue } from './common.js';
import type { GuardRule } from './types.js';

export const rule: GuardRule = {
  id: 'django',
  tools: ['manage.py', 'django-admin'],
  severity: 'error',
  title: 'django flush / migrate <app> zero / reset_db / dbshell with SQL',
  explanation: '`manage.py flush` deletes every row, `migrate <app> zero` unapplies every migration of an app (dropping its tables), `reset_db` (django-extensions) drops the database, and `dbshell` runs whatever SQL it is fed. The target is DATABASE_URL (environment or .env) or a settings module named like an environment (`--settings=proj.settings.production`).',
  examples: { deny: ['DATABASE_URL="$PROD_URL" python manage.py flush --noinput', 'python manage.py migrate shop zero --settings=qwikker.settings.production', 'DATABASE_URL="$PROD_URL" python manage.py dbshell < sql/drop.sql'], allow: ['python manage.py runserver', 'python manage.py makemigrations', 'python manage.py showmigrations'] },
  async check(inv, h) {
    const pos = inv.args.filter((a) => !a.startsWith('-'));
    const cmd = pos[0];
    const settings = longValue(inv.args, '--settings') ?? inv.env.DJANGO_SETTINGS_MODULE;
    const last = settings?.split('.').pop();
    const spec = appTarget(inv);
    const dbAlias = longValue(inv.args, '--database');
    if (dbAlias && dbAlias !== 'default') spec.environmentName = /prod/.test(dbAlias) ? 'production' : dbAlias;
    else if (last && /prod|staging|local|dev/.test(last) && !spec.opaque) spec.environmentName = /prod/.test(last) ? 'production' : /staging/.test(last) ? 'staging' : 'development';
    const target = h.target(spec);
    if (cmd === 'flush' || cmd === 'reset_db' || cmd === 'sqlflush_apply') return { risk: 'destructive', effect: cmd === 'flush' ? 'deletes every row of every table in' : 'drops and recreates the database', target, alternative: 'Flush only a local database; rebuild staging with `prodguard restore`.' };
    if (cmd === 'migrate' && pos[2] === 'zero') return { risk: 'destructive', effect: `unapplies every migration of ${pos[1]} (dropping its tables) in`, target, alternative: 'Write a forward migration and ship it with `prodguard migrate`.' };
    if (cmd === 'migrate' && pos.length >= 3) return { risk: 'destructive', effect: `migrates ${pos[1]} to ${pos[2]} (may unapply migrations) in`, target, alternative: 'Ship changes with `prodguard migrate`.' };
    if (cmd === 'migrate') return { risk: 'change', effect: 'applies migrations without approval to', target, alternative: 'Use `prodguard migrate deploy`.' };
    if (cmd === 'loaddata' || cmd === 'createsuperuser' || cmd === 'changepassword') return { risk: 'change', effect: `runs manage.py ${cmd} (writes rows) on`, target, alternative: 'Load data into staging; production data changes go through a reviewed migration.' };
    if (cmd === 'shell' || cmd === 'shell_plus' || cmd === 'runscript') {
      return { risk: 'opaque', effect: `runs Python code (manage.py ${cmd}) the guard cannot check against`, target, alternative: 'Run it against a local or staging database.' };
    }
    if (cmd === 'dbshell') {
      const dashdash = inv.args.indexOf('--');
      const extra = dashdash >= 0 ? inv.args.slice(dashdash + 1) : [];
      const c = extra.indexOf('-c');
      if (c >= 0) return h.sql(extra[c + 1] ?? null, target, 'dbshell -c');
      if (!inv.stdin) return { risk: 'read', effect: 'opens an interactive session on', target };
      return h.sql(inv.stdin.text, target, `stdin from ${inv.stdin.from}`);
    }
    return null;
  },
};
