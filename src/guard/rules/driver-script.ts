/**
 * A Node/Python/Ruby script that talks to a database through a driver (`pg`, psycopg, Prisma
 * client, …): the guard cannot follow the code, but it can read what the script does to the
 * database (a write, a destructive statement) and which database the environment points it at.
 */
import { appTarget } from './common.js';
import type { GuardRule } from './types.js';

const DESTROYS = /\bdrop\s+(table|schema|database|view|function)|\btruncate\b|delete\s+from|deleteMany\s*\(|\.delete\(\)|delete_all|destroy_all/i;
/** execute()/query() with SQL that is not one literal string (`"DR" + "OP"`, f-strings, template literals, a variable). */
const DYNAMIC = /\b(execute|query|raw|executescript|exec)\s*\(\s*(f["']|[A-Za-z_][\w.]*\s*[,)]|["'`][^"'`]*["'`]\s*\+|`[^`]*\$\{)/;
const WRITES = /\b(insert\s+into|update\s+\w+\s+set|upsert|alter\s+table|create\s+table|createMany|updateMany|\.save\(|bulk_create|executemany)\b/i;

export const rule: GuardRule = {
  id: 'driver-script',
  tools: ['driver-script'],
  severity: 'error',
  title: 'scripts that write to a database through a driver',
  explanation:
    'A script run with node/python/ruby that opens a database connection (pg, psycopg, Prisma client, SQLAlchemy, …) and writes or deletes rows is judged against the database its environment names (DATABASE_URL and friends, then the .env files). Scripts that only read are allowed; against production, writes go through a reviewed migration.',
  examples: {
    deny: ['DATABASE_URL="$PROD_URL" node scripts/seed.js'],
    allow: ['node scripts/seed.js', 'node scripts/build.js'],
  },
  check(inv, h) {
    const text = inv.stdin?.text ?? '';
    const risk = DESTROYS.test(text) ? 'destructive' : WRITES.test(text) ? 'change' : DYNAMIC.test(text) ? 'opaque' : null;
    if (!risk) return null;
    // The variables the script itself reads come first (process.env.X, os.environ['X']).
    const target = h.target(appTarget(inv, undefined, inv.args.slice(1)));
    return { risk, effect: `runs ${inv.args[0] ?? 'a script'}, which ${risk === 'destructive' ? 'deletes data' : risk === 'change' ? 'writes' : 'builds its SQL at run time'} through a database driver, against`, target, alternative: 'Run it against a local or staging database; production data changes go through a reviewed migration.' };
  },
};
