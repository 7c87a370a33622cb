import { parseArgs, optValue, hasOpt } from '../args.js';
import { libpqTarget } from './psql.js';
import type { GuardRule } from './types.js';

export const rule: GuardRule = {
  id: 'pg-restore',
  tools: ['pg_restore'],
  severity: 'error',
  title: 'pg_restore into an existing database',
  explanation: '`pg_restore --clean` (-c) drops every object before recreating it, `--create` (-C) recreates the database, and any restore with -d writes into a live database. Restore into a scratch or staging database (`prodguard restore`), never over production. Without -d, pg_restore only prints SQL and is allowed.',
  examples: { deny: ['pg_restore --clean -d "$PROD_URL" dump.custom', 'pg_restore -c -d postgres -h db.abcdefghijklmnopqrst.supabase.co x.dump'], allow: ['pg_restore -l dump.custom', 'pg_restore -f out.sql dump.custom'] },
  check(inv, h) {
    const p = parseArgs(inv.args, { short: 'dfFhIjLnNpPSTtUe', long: ['dbname', 'file', 'format', 'host', 'index', 'jobs', 'use-list', 'schema', 'exclude-schema', 'port', 'function', 'superuser', 'trigger', 'table', 'username', 'role', 'section', 'filter'] });
    const db = optValue(p, 'd', 'dbname');
    if (!db || hasOpt(p, 'l', 'list')) return null;
    const target = libpqTarget(inv, h, p);
    const clean = hasOpt(p, 'c', 'clean', 'C', 'create', 'if-exists');
    return {
      risk: clean ? 'destructive' : 'change',
      effect: clean ? 'drops and recreates every object it restores (--clean/--create) in' : 'restores a dump into the live database',
      alternative: 'Use `prodguard restore` into staging or a scratch database instead.',
      target,
    };
  },
};
