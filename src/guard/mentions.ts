/**
 * For programs the guard has no model of: do their strings (arguments, stdin, the variables set
 * for them) mention a database tool, or a production host, project ref, connection string or
 * environment name? A program that runs strings the guard cannot parse is then refused.
 */
import { knownTools } from './rules/index.js';
import { resolveUrl, type GuardScope } from './target.js';

export { DATA_ONLY } from './data-only.js';
import { DATA_ONLY } from './data-only.js';

const EXTRA_DB_TOOLS = ['usql', 'pgcli', 'pgbench', 'vacuumdb', 'reindexdb', 'clusterdb', 'createuser', 'pg_recvlogical', 'pg_receivewal', 'pg_basebackup', 'pg_upgrade',
  'sqitch', 'alembic', 'node-pg-migrate', 'mikro-orm', 'pg_resetwal', 'pg_rewind', 'pg_archivecleanup', 'pgloader', 'psql', 'supabase', 'dropdb', 'dropuser'];

let toolRe: RegExp | null = null;

function dbToolPattern(): RegExp {
  const names = [...new Set([...knownTools(), ...EXTRA_DB_TOOLS])].sort((a, b) => b.length - a.length).map((n) => n.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&'));
  toolRe ??= new RegExp(`(^|[^A-Za-z0-9_.-])(${names.join('|')})([^A-Za-z0-9_./-]|$)`);
  return toolRe;
}

export interface Mention {
  /** A production host/ref/URL/environment name: refuse outright. */
  production: boolean;
  what: string;
}

/** What the strings mention, worst first; null when nothing. */
export function mentions(texts: string[], scope: GuardScope): Mention | null {
  const joined = texts.join('\n');
  if (!joined.trim()) return null;
  const loaded = scope.loaded;
  if (loaded) {
    for (const [name, e] of Object.entries(loaded.config.environments)) {
      if (e.kind !== 'production') continue;
      const markers = [e.supabaseRef, ...(e.hosts ?? []).map((h) => h.replace(/:\d+$/, ''))].filter((x): x is string => !!x);
      const url = e.urlEnv ? scope.env[e.urlEnv] : undefined;
      if (url) {
        const host = /@([^/:?,]+)/.exec(url)?.[1];
        if (host && !/^(localhost|127\.)/.test(host)) markers.push(host);
      }
      for (const m of markers) if (joined.includes(m)) return { production: true, what: `the ${name} environment's ${m === e.supabaseRef ? 'project ref' : 'host'} ${m}` };
      if (texts.some((t) => t === name || t === (e as { label?: string }).label)) return { production: true, what: `the environment name "${name}"` };
    }
  }
  for (const m of joined.matchAll(/(?:postgres(?:ql)?|db:pg):\/\/[^\s'"`)]+/gi)) {
    const target = resolveUrl(scope, m[0].replace(/^db:pg:/i, 'postgresql:'), 'a string');
    if (target.kind === 'production' || target.kind === 'unknown') return { production: target.kind === 'production', what: `a connection string to ${target.kind === 'production' ? target.label : 'an unidentified database'}` };
  }
  const tool = dbToolPattern().exec(joined);
  if (tool) return { production: false, what: `the database tool ${tool[2]}` };
  return null;
}

