/**
 * Handing a connection string to a PostgreSQL command-line tool (pg_dump, pg_dumpall, pg_restore,
 * psql, pg_basebackup, pg_receivewal, …) without its password in the argument list: argv is
 * readable by every local user in /proc/<pid>/cmdline for as long as the tool runs, the child's
 * environment (/proc/<pid>/environ) only by its owner and root. So the password is taken out of
 * the string (URI userinfo, `?password=` or key=value `password=`) and given to the child as
 * PGPASSWORD in its own environment — never in ours, never on disk.
 *
 * Every call site that spawns a pg tool with a connection goes through `toolConn`.
 */
import { isConnectionUri } from './conninfo.js';
import { UsageError } from '../errors.js';

export interface ToolConn {
  /** The connection string without any password: safe for argv. */
  conn: string;
  /** Extra environment for the child (PGPASSWORD when the string carried a password). */
  env: Record<string, string>;
}

const URI_RE = /^(postgres(?:ql)?:\/\/)([^/?#]*)(.*)$/is;

function stripUri(uri: string): { conn: string; password?: string } {
  const m = URI_RE.exec(uri.trim());
  if (!m) return { conn: uri };
  let [, scheme, authority, rest] = m;
  let password: string | undefined;
  // userinfo ends at the LAST '@' of the authority (libpq: '@' in a password must be %-encoded, but be lenient).
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(':');
    if (colon >= 0) {
      password = safeDecode(userinfo.slice(colon + 1));
      authority = userinfo.slice(0, colon) + authority.slice(at);
    }
  }
  const q = rest.indexOf('?');
  if (q >= 0) {
    const hash = rest.indexOf('#', q);
    const query = rest.slice(q + 1, hash >= 0 ? hash : undefined);
    const kept: string[] = [];
    for (const part of query.split('&')) {
      if (!part) continue;
      const eq = part.indexOf('=');
      const key = safeDecode(eq >= 0 ? part.slice(0, eq) : part);
      if (key === 'password') password = safeDecode(eq >= 0 ? part.slice(eq + 1) : '');
      else kept.push(part);
    }
    rest = rest.slice(0, q) + (kept.length ? '?' + kept.join('&') : '') + (hash >= 0 ? rest.slice(hash) : '');
  }
  return { conn: scheme + authority + rest, ...(password !== undefined ? { password } : {}) };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, '%20'));
  } catch {
    return s;
  }
}

/** libpq key=value syntax: key = value, value either bare or single-quoted with \' and \\ escapes. */
const KV_RE = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s']*)/gy;

function stripKeyValue(s: string): { conn: string; password?: string } {
  const parts: string[] = [];
  let password: string | undefined;
  KV_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = KV_RE.exec(s))) {
    end = KV_RE.lastIndex;
    const raw = m[2];
    const value = raw.startsWith("'") ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    if (m[1] === 'password') password = value;
    else parts.push(`${m[1]}=${raw}`);
  }
  // Not fully parseable as key=value: refuse rather than hand a string that may hold a password to argv.
  if (s.slice(end).trim() !== '') throw new UsageError('cannot parse the connection string (expected postgresql://… or key=value pairs); not shown because it may contain a password', 'pg.bad-conninfo');
  return { conn: parts.join(' '), ...(password !== undefined ? { password } : {}) };
}

export function toolConn(connection: string): ToolConn {
  const { conn, password } = isConnectionUri(connection) ? stripUri(connection) : stripKeyValue(connection);
  return { conn, env: password !== undefined && password !== '' ? { PGPASSWORD: password } : {} };
}

/** `--dbname=<conn>` plus the child environment; the common case for pg_dump/pg_restore/psql/pg_dumpall. */
export function dbnameArg(connection: string): { arg: string; env: Record<string, string> } {
  const t = toolConn(connection);
  return { arg: `--dbname=${t.conn}`, env: t.env };
}
