import { appTarget, longValue, positionalsOf } from './common.js';
import { parseDotenv } from '../target.js';
import type { GuardRule, Invocation, RuleHelpers } from './types.js';

/** flyway.conf / liquibase.properties `url=` lines (jdbc URLs are fine: target.ts strips jdbc:). */
function propsUrl(h: RuleHelpers, files: string[], key: RegExp): string | undefined {
  for (const f of files) {
    const t = h.readFile(f);
    const m = t ? key.exec(t) : null;
    if (m) return m[1].trim().replace(/^["']|["']$/g, '');
  }
  return undefined;
}

function urlFlag(inv: Invocation, ...names: string[]): string | undefined {
  return longValue(inv.args, ...names);
}

const FLYWAY: Record<string, ['destructive' | 'change', string]> = {
  clean: ['destructive', 'drops every object in the configured schemas of'],
  undo: ['destructive', 'undoes migrations in'],
  migrate: ['change', 'applies migrations without approval to'],
  repair: ['change', 'rewrites the schema history table of'],
  baseline: ['change', 'baselines the schema history of'],
};
const LIQUIBASE: Record<string, ['destructive' | 'change', string]> = {
  dropall: ['destructive', 'drops every object in'],
  'drop-all': ['destructive', 'drops every object in'],
  rollback: ['destructive', 'rolls back changesets in'],
  'rollback-count': ['destructive', 'rolls back changesets in'],
  rollbackcount: ['destructive', 'rolls back changesets in'],
  'rollback-to-date': ['destructive', 'rolls back changesets in'],
  rollbacktodate: ['destructive', 'rolls back changesets in'],
  update: ['change', 'applies changesets without approval to'],
  'update-count': ['change', 'applies changesets without approval to'],
};

export const rule: GuardRule = {
  id: 'sql-migrators',
  tools: ['flyway', 'liquibase', 'atlas', 'dbmate', 'goose', 'migrate'],
  severity: 'error',
  title: 'flyway clean, liquibase dropAll/rollback, atlas schema apply/clean, dbmate drop/rollback, goose down/reset, migrate down/drop',
  explanation: 'Each of these drops objects or reverts migrations (`flyway clean`, `liquibase dropAll`, `atlas schema clean`, `dbmate drop`, `goose reset`, `migrate drop`); `atlas schema apply` makes the database match a desired schema, dropping whatever is not in it. Applying migrations to production needs approval (`prodguard migrate deploy`). Targets: the tool\'s URL flag, its config file (flyway.conf, liquibase.properties), or its variables (FLYWAY_URL, DATABASE_URL, GOOSE_DBSTRING).',
  examples: { deny: ['flyway clean -url=jdbc:postgresql://db.abcdefghijklmnopqrst.supabase.co:5432/postgres', 'dbmate -u "$PROD_URL" drop', 'goose postgres "$PROD_URL" reset'], allow: ['flyway info', 'dbmate new add_users', 'goose create add_users sql', 'atlas schema inspect -u "$PROD_URL"'] },
  check(inv, h) {
    const pos = positionalsOf(inv.args, ['-u', '--url', '-e', '--env', '--env-file', '-d', '--migrations-dir', '-database', '--database', '-path', '--path', '-source', '--source', '--to', '--dev-url', '--schema', '-s', '--dir', '--table']);
    const first = (pos[0] ?? '').toLowerCase();
    let risk: 'destructive' | 'change' | null = null;
    let effect = '';
    let url: string | undefined;
    let vars: string[] = [];
    switch (inv.tool) {
      case 'flyway': {
        const op = FLYWAY[first];
        if (!op) return null;
        [risk, effect] = op;
        url = urlFlag(inv, '-url') ?? inv.env.FLYWAY_URL ?? propsUrl(h, ['flyway.conf', 'conf/flyway.conf'], /^\s*flyway\.url\s*=\s*(.+)$/m) ?? propsUrl(h, ['flyway.toml'], /^\s*url\s*=\s*(.+)$/m);
        break;
      }
      case 'liquibase': {
        const op = LIQUIBASE[first] ?? (first.startsWith('rollback') ? LIQUIBASE.rollback : undefined);
        if (!op) return null;
        [risk, effect] = op;
        url = urlFlag(inv, '--url') ?? inv.env.LIQUIBASE_COMMAND_URL ?? propsUrl(h, ['liquibase.properties'], /^\s*url\s*[:=]\s*(.+)$/m);
        break;
      }
      case 'atlas': {
        const cmd = pos.slice(0, 2).join(' ');
        if (cmd === 'schema clean') [risk, effect] = ['destructive', 'drops every object in'];
        else if (cmd === 'schema apply') [risk, effect] = ['destructive', 'makes the schema match the desired state (dropping what is not in it) in'];
        else if (cmd === 'migrate down') [risk, effect] = ['destructive', 'reverts migrations in'];
        else if (cmd === 'migrate apply') [risk, effect] = ['change', 'applies migrations without approval to'];
        else return null;
        if (inv.args.includes('--dry-run')) return null;
        url = urlFlag(inv, '--url', '-u');
        const envName = urlFlag(inv, '--env');
        if (!url && envName && !inv.opaque.length) return { risk, effect, target: h.target({ environmentName: envName }), alternative: 'Plan with `atlas schema apply --dry-run`; ship changes with `prodguard migrate`.' };
        break;
      }
      case 'dbmate': {
        const cmd = pos[0];
        if (cmd === 'drop') [risk, effect] = ['destructive', 'drops the database'];
        else if (cmd === 'rollback' || cmd === 'down') [risk, effect] = ['destructive', 'rolls back the last migration in'];
        else if (cmd === 'up' || cmd === 'migrate') [risk, effect] = ['change', 'applies migrations without approval to'];
        else return null;
        url = urlFlag(inv, '--url', '-u');
        const envVar = urlFlag(inv, '--env', '-e');
        if (envVar) vars = [envVar];
        const envFile = urlFlag(inv, '--env-file');
        const spec = appTarget(inv, url, vars);
        if (envFile && !spec.opaque && !url) spec.dotenvFiles = [envFile];
        return finish(risk, effect, h.target(spec));
      }
      case 'goose': {
        const cmdIdx = pos.findIndex((p) => ['down', 'reset', 'down-to', 'redo', 'up', 'up-by-one', 'up-to'].includes(p));
        if (cmdIdx < 0) return null;
        const cmd = pos[cmdIdx];
        if (cmd.startsWith('up')) [risk, effect] = ['change', 'applies migrations without approval to'];
        else [risk, effect] = ['destructive', cmd === 'reset' ? 'rolls back every migration in' : 'rolls back migrations in'];
        url = cmdIdx >= 2 ? pos[cmdIdx - 1] : inv.env.GOOSE_DBSTRING;
        if (url && !/^(postgres(ql)?:\/\/|.*=)/.test(url)) url = undefined;
        break;
      }
      case 'migrate': {
        const cmd = pos[0];
        if (cmd === 'drop') [risk, effect] = ['destructive', 'drops everything in'];
        else if (cmd === 'down' || cmd === 'force' || cmd === 'goto') [risk, effect] = ['destructive', 'reverts migrations in'];
        else if (cmd === 'up') [risk, effect] = ['change', 'applies migrations without approval to'];
        else return null;
        url = urlFlag(inv, '-database', '--database');
        if (!url) return null; // not golang-migrate
        break;
      }
    }
    if (!risk) return null;
    return finish(risk, effect, h.target(appTarget(inv, url, vars)));
  },
};

function finish(risk: 'destructive' | 'change', effect: string, target: ReturnType<RuleHelpers['target']>) {
  return { risk, effect, target, alternative: risk === 'destructive' ? 'Write a forward migration and ship it with `prodguard migrate`; take a verified backup first.' : 'Use `prodguard migrate deploy` (staging first, two approvals, backup).' };
}
export { parseDotenv };
