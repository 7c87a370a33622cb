/**
 * For programs the guard has no model of: do their strings (arguments, stdin, the variables set
 * for them) mention a database tool, or a production host, project ref, connection string or
 * environment name? A program that runs strings the guard cannot parse is then refused.
 */
import { knownTools } from './rules/index.js';
import { resolveUrl, type GuardScope } from './target.js';

/** Programs that never run their arguments as code: their strings are data (`echo 'dropdb x'`, `git commit -m …`). */
export const DATA_ONLY = new Set([
  'echo', 'printf', 'cat', 'grep', 'egrep', 'fgrep', 'rg', 'ag', 'ack', 'head', 'tail', 'wc', 'ls', 'less', 'more', 'diff', 'cmp', 'sort', 'uniq', 'cut', 'tr',
  'tee', 'touch', 'mkdir', 'rmdir', 'cp', 'mv', 'rm', 'ln', 'chmod', 'chown', 'stat', 'file', 'du', 'df', 'pwd', 'cd', 'which', 'type', 'whoami', 'id', 'date',
  'sleep', 'true', 'false', 'test', '[', 'basename', 'dirname', 'realpath', 'readlink', 'jq', 'yq', 'base64', 'md5sum', 'sha256sum', 'sha1sum', 'tar', 'gzip',
  'gunzip', 'zip', 'unzip', 'code', 'vim', 'vi', 'nano', 'emacs', 'man', 'tree', 'column', 'nl', 'fold', 'paste', 'join', 'comm', 'tac', 'rev', 'od', 'xxd',
  'hexdump', 'strings', 'export', 'set', 'unset', 'shift', 'local', 'return', 'exit', ':', 'history', 'kill', 'ps', 'top', 'lsof', 'ping', 'dig', 'nslookup',
  'host', 'read', 'declare', 'sed', 'nvm', 'direnv', 'pytest', 'vitest', 'jest', 'eslint', 'prettier', 'tsc', 'squawk', 'ssh-agent', 'ssh-add', 'typeset', 'readonly', 'wait', 'jobs', 'fg', 'bg', 'cowsay', 'git', 'gh', 'pg_dump', 'pg_dumpall', 'pg_isready',
  'pg_config', 'initdb', 'mktemp', 'seq', 'yes', 'clear', 'tput', 'stty', 'open', 'xdg-open', 'pbcopy', 'pbpaste', 'mapfile', 'readarray', 'let', 'hash',
]);

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

