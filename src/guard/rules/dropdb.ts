import { parseArgs } from '../args.js';
import { libpqTarget } from './psql.js';
import type { GuardRule } from './types.js';

export const rule: GuardRule = {
  id: 'dropdb',
  tools: ['dropdb', 'dropuser'],
  severity: 'error',
  title: 'dropdb / dropuser',
  explanation: '`dropdb` removes a whole database; `dropuser` removes a role (and with it every grant). Allowed on local databases; anywhere else only after a verified backup (staging) or never (production).',
  examples: { deny: ['dropdb -h db.abcdefghijklmnopqrst.supabase.co postgres', 'dropdb "$PROD_URL"'], allow: ['dropdb scratch', 'createdb scratch'] },
  check(inv, h) {
    const p = parseArgs(inv.args, { short: 'hpUd', long: ['host', 'port', 'username', 'maintenance-db'] });
    if (p.opts.some((o) => o.name === 'help' || o.name === 'version')) return null;
    const target = libpqTarget(inv, h, p, p.positionals[0]);
    return { risk: 'destructive', effect: inv.tool === 'dropdb' ? `drops the database ${p.positionals[0] ?? ''} on`.replace('  ', ' ') : 'drops a role on', target, alternative: 'Take a verified backup first (`prodguard backup create`); drop scratch copies only.' };
  },
};
