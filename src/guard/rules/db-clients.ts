/**
 * Database tools with no rule of their own in the first wave: other SQL shells (usql, pgcli),
 * maintenance tools (pgbench -i, vacuumdb, reindexdb, clusterdb, createuser, pg_recvlogical,
 * pg_upgrade) and migration tools (sqitch, alembic, node-pg-migrate, mikro-orm). Each is judged
 * by what it does (read, change, destructive) against the target its arguments or environment name.
 */
import { parseConnInfo } from '../../pg/conninfo.js';
import { appTarget, longValue } from './common.js';
import type { Finding, GuardRule, Invocation, RuleHelpers } from './types.js';

const READ_ONLY = /^(--?version|-V|--?help|version|help|history|current|heads|branches|show|status|log|plan|verify|check|list|migration:list|migration:check|debug)$/;

function targetOf(inv: Invocation, h: RuleHelpers): Finding['target'] {
  const urlVar = longValue(inv.args, '--database-url-var', '-d');
  if (inv.tool === 'node-pg-migrate' && urlVar && inv.env[urlVar]) return h.target({ url: inv.env[urlVar]! });
  const url = inv.args.map((a) => a.replace(/^(db:pg|pg|postgres(ql)?\+\w+|postgis|cockroachdb|redshift):/i, 'postgresql:')).find((a) => /^(postgres(ql)?:\/\/|jdbc:postgresql:)/i.test(a) || (/=/.test(a) && !a.startsWith('-') && parseConnInfo(a) !== null && /\b(host|dbname)=/.test(a)));
  if (url) return h.target({ url, pgEnv: true });
  const host = longValue(inv.args, '-h', '--host');
  const db = longValue(inv.args, '-d', '--dbname');
  if (db && parseConnInfo(db)) return h.target({ url: db, pgEnv: true });
  if (host || db) return h.target({ conn: { host, port: longValue(inv.args, '-p', '--port'), dbname: db, user: longValue(inv.args, '-U', '--username') }, pgEnv: true });
  const envName = longValue(inv.args, '--target', '-t', '--env', '--environment');
  if (['sqitch', 'alembic', 'node-pg-migrate', 'mikro-orm'].includes(inv.tool)) {
    if (envName && !/:\/\//.test(envName)) return h.target({ environmentName: envName });
    return h.target(appTarget(inv));
  }
  return h.target({ pgEnv: true });
}

function what(inv: Invocation): { risk: Finding['risk']; effect: string } | 'sql' | null {
  const a = inv.args;
  const words = a.filter((x) => !x.startsWith('-'));
  const verb = words[0] ?? '';
  switch (inv.tool) {
    case 'usql':
    case 'pgcli':
      return a.some((x) => /^(-c|--command|-e|--execute|-f|--file)$/.test(x)) || inv.stdin ? 'sql' : { risk: 'read', effect: 'opens an interactive session on' };
    case 'pgbench':
      return a.some((x) => /^-[a-zA-Z]*i|^--initialize/.test(x)) ? { risk: 'destructive', effect: 'drops and recreates the pgbench tables (-i) in' } : { risk: 'change', effect: 'runs a write benchmark against' };
    case 'vacuumdb':
    case 'reindexdb':
    case 'clusterdb':
      return { risk: 'change', effect: `runs ${inv.tool} (heavy locks${a.includes('--full') || a.includes('-f') ? ', VACUUM FULL rewrites every table' : ''}) on` };
    case 'createuser':
      return { risk: 'change', effect: 'creates a role (a privilege change) on' };
    case 'pg_recvlogical':
      return a.some((x) => /^--(drop|create)-slot$/.test(x)) ? { risk: 'destructive', effect: 'creates or drops a replication slot on' } : { risk: 'read', effect: 'streams changes from' };
    case 'pg_upgrade':
      return { risk: 'destructive', effect: 'upgrades a data directory in place (the old cluster cannot be started after --link) on' };
    case 'sqitch':
      return /^(revert|rebase|checkout)$/.test(verb) ? { risk: 'destructive', effect: `reverts changes (sqitch ${verb}) in` } : /^deploy$/.test(verb) ? { risk: 'change', effect: 'deploys changes without approval to' } : null;
    case 'alembic':
      return verb === 'downgrade' ? { risk: 'destructive', effect: 'downgrades the schema (dropping what migrations created) in' } : /^(upgrade|stamp)$/.test(verb) ? { risk: 'change', effect: `applies migrations without approval (alembic ${verb}) to` } : null;
    case 'node-pg-migrate':
      return verb === 'down' ? { risk: 'destructive', effect: 'reverts migrations in' } : /^(up|redo)$/.test(verb) ? { risk: 'change', effect: 'applies migrations without approval to' } : null;
    case 'mikro-orm':
      return /^(schema:drop|schema:fresh|migration:down|migration:fresh|database:drop)$/.test(verb) ? { risk: 'destructive', effect: `runs ${verb} on` } : /^(schema:update|schema:create|migration:up|seeder:run|database:import)$/.test(verb) ? { risk: 'change', effect: `runs ${verb} on` } : null;
  }
  return null;
}

export const rule: GuardRule = {
  id: 'db-clients',
  tools: ['usql', 'pgcli', 'pgbench', 'vacuumdb', 'reindexdb', 'clusterdb', 'createuser', 'pg_recvlogical', 'pg_upgrade', 'sqitch', 'alembic', 'node-pg-migrate', 'mikro-orm'],
  severity: 'error',
  title: 'other database tools: SQL shells, maintenance tools and migration tools',
  explanation:
    'usql and pgcli run SQL like psql (classified the same way); `pgbench -i` drops and recreates its tables; vacuumdb/reindexdb/clusterdb take heavy locks; createuser changes privileges; sqitch/alembic/node-pg-migrate/mikro-orm apply or revert migrations. Against production these go through `prodguard migrate` or a maintenance window; version, help and status commands are allowed everywhere.',
  examples: {
    deny: [`usql "$PROD_URL" -c 'drop table businesses'`, `pgbench -i "$PROD_URL"`, `DATABASE_URL="$PROD_URL" alembic downgrade base`, 'sqitch deploy --target production'],
    allow: ['pgbench --version', 'alembic history', `pgbench -i postgresql://postgres:postgres@127.0.0.1:54322/postgres`, 'sqitch status'],
  },
  async check(inv, h) {
    const words = inv.args.filter((x) => !x.startsWith('-'));
    if (inv.args.some((x) => READ_ONLY.test(x)) && !inv.args.some((x) => /^(-c|--command|-e|--execute)$/.test(x)) && !/^(downgrade|upgrade|revert|deploy|down|up)$/.test(words[0] ?? '')) return null;
    const w = what(inv);
    if (w === null) return null;
    // pg_upgrade works on data directories: which environment they serve is unknown.
    const target = inv.tool === 'pg_upgrade' ? h.target({ opaque: 'the data directories pg_upgrade works on' }) : targetOf(inv, h);
    if (w === 'sql') {
      const c = inv.args.findIndex((x) => /^(-c|--command|-e|--execute)$/.test(x));
      const f = inv.args.findIndex((x) => /^(-f|--file)$/.test(x));
      const text = c >= 0 ? inv.args[c + 1] ?? null : f >= 0 ? h.readFile(inv.args[f + 1] ?? '') : inv.stdin?.text ?? null;
      return h.sql(text, target, inv.tool);
    }
    return { ...w, target, alternative: w.risk === 'read' ? undefined : 'Run it on staging or a local database; production changes go through `prodguard migrate`.' };
  },
};
