import { parseArgs, optValue, optValues } from '../args.js';
import { parseConnInfo } from '../../pg/conninfo.js';
import { OPAQUE_ARG, type GuardRule, type Invocation, type RuleHelpers } from './types.js';

const PG_VARS = ['PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGDATABASE', 'PGSERVICE', 'PGSERVICEFILE', 'PGUSER'];

/** libpq connection flags shared by psql, dropdb, pg_restore, … */
export function libpqTarget(inv: Invocation, h: RuleHelpers, p: ReturnType<typeof parseArgs>, dbPositional?: string) {
  // Any scheme://… is a connection string (psql refuses odd ones, but then it is surely not "local").
  const rawDb = optValue(p, 'd', 'dbname', 'maintenance-db') ?? dbPositional;
  const db = rawDb && /^[a-z][a-z0-9+.-]*:\/\//i.test(rawDb) && !/^(postgres(ql)?|jdbc:postgresql):\/\//i.test(rawDb) ? rawDb.replace(/^[a-z][a-z0-9+.-]*:/i, 'postgresql:') : rawDb;
  // Only an unknown word in a target position (or an unknown PG* variable) hides the target;
  // an unknown -f file does not (the SQL check refuses unreadable SQL on its own).
  const targetWords = [db, optValue(p, 'h', 'host'), optValue(p, 'p', 'port'), optValue(p, 'U', 'username'), ...p.positionals.slice(0, 2)];
  const unknownVar = PG_VARS.find((k) => inv.env[k]?.includes(OPAQUE_ARG));
  if (targetWords.some((w) => w?.includes(OPAQUE_ARG)) || unknownVar) return h.target({ opaque: `cannot resolve ${unknownVar ? `$${unknownVar}` : inv.opaque[0] ?? 'the target'}` });
  // A URI is a connection string even when it does not parse (multi-host with ports): resolveUrl decides.
  if (db && (parseConnInfo(db) || /^(postgres(ql)?|jdbc:postgresql):\/\//i.test(db))) return h.target({ url: db, pgEnv: true });
  return h.target({
    conn: { host: optValue(p, 'h', 'host'), port: optValue(p, 'p', 'port'), dbname: db, user: optValue(p, 'U', 'username') },
    pgEnv: true,
  });
}

export const PSQL_SPEC = { short: 'cdfhpUvoLPFRTs', long: ['command', 'dbname', 'file', 'host', 'port', 'username', 'set', 'variable', 'output', 'log-file', 'pset', 'field-separator', 'record-separator', 'table-attr'] };

export const rule: GuardRule = {
  id: 'psql',
  tools: ['psql'],
  severity: 'error',
  title: 'psql running SQL that changes or destroys data',
  explanation:
    'Every SQL statement psql would run (-c, -f, a heredoc, a pipe, `< file`) is classified by the SQL layer. Read-only queries are allowed everywhere; writes, DDL and privilege changes to production are refused (they go through `prodguard migrate`), destructive SQL (DROP, TRUNCATE, unqualified DELETE) follows the environment policy. SQL the guard cannot read or parse is refused on anything but a local database.',
  examples: {
    deny: [`psql "$PROD_URL" -c 'DROP TABLE businesses'`, `echo 'truncate orders' | psql "$PROD_URL"`],
    allow: [`psql "$PROD_URL" -c 'select count(*) from businesses'`, `psql -c 'drop table t'`],
  },
  async check(inv, h) {
    const p = parseArgs(inv.args, PSQL_SPEC);
    if (p.opts.some((o) => o.name === 'l' || o.name === 'list' || o.name === 'version' || o.name === 'V' || o.name === 'help')) return null;
    const pos = p.positionals;
    const target = libpqTarget(inv, h, p, pos[0]);
    const commands = optValues(p, 'c', 'command');
    const files = optValues(p, 'f', 'file');
    const parts: string[] = [...commands];
    let unknownSource: string | null = null;
    for (const f of files) {
      if (f === '-') {
        if (inv.stdin?.text == null) unknownSource = 'stdin';
        else parts.push(inv.stdin.text);
        continue;
      }
      const text = h.readFile(f);
      if (text === null) unknownSource = `file ${f} (not readable)`;
      else parts.push(text);
    }
    const rcSet = inv.env.PSQLRC !== undefined && !p.opts.some((o) => o.name === 'X' || o.name === 'no-psqlrc');
    if (commands.length === 0 && files.length === 0) {
      if (!inv.stdin && !rcSet) return { risk: 'read', effect: 'opens an interactive session on', target };
      if (!inv.stdin) { /* interactive, after the rc file */ }
      else if (inv.stdin.text === null) unknownSource = `stdin from ${inv.stdin.from}`;
      else parts.push(inv.stdin.text);
    }
    // psql runs ~/.psqlrc (or $PSQLRC) first unless -X: what it holds runs against the target too.
    if (!p.opts.some((o) => o.name === 'X' || o.name === 'no-psqlrc')) {
      const rcPath = inv.env.PSQLRC ?? (inv.env.HOME ? `${inv.env.HOME}/.psqlrc` : undefined);
      if (rcPath?.includes(OPAQUE_ARG)) unknownSource = 'a $PSQLRC the guard cannot resolve';
      else if (rcPath) {
        const rc = h.readFile(rcPath);
        if (rc !== null) parts.unshift(rc);
        else if (inv.env.PSQLRC && !inv.scope.remote) unknownSource = `PSQLRC ${rcPath} (not readable)`;
      }
    }
    if (unknownSource) return h.sql(null, target, unknownSource);
    return h.sql(parts.join(';\n'), target, 'psql');
  },
};
