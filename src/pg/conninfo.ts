/**
 * Parsing libpq connection strings (URI and key=value forms) and PG* variables into the parts
 * that identify a server. Used to tell which environment a command or URL points at.
 */
import { parse as parsePgConnectionString } from 'pg-connection-string';

export interface ConnInfo {
  host: string;
  port: number;
  database: string;
  user: string;
  password?: string;
  /** Anything else (sslmode, options, …). */
  params: Record<string, string>;
}

const DEFAULT_PORT = 5432;

export function isConnectionUri(s: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(s.trim());
}

/** True for `host=… dbname=…` style strings. */
export function isKeyValueConnInfo(s: string): boolean {
  return /(^|\s)(host|hostaddr|dbname|port|user|service)\s*=/.test(s);
}

export function parseConnInfo(s: string, env: Record<string, string | undefined> = {}): ConnInfo | null {
  const text = s.trim();
  if (isConnectionUri(text)) return parseUri(text, env);
  if (isKeyValueConnInfo(text)) return parseKeyValue(text, env);
  return null;
}

function parseUri(text: string, env: Record<string, string | undefined>): ConnInfo | null {
  // The standard parser (pg-connection-string, what node-postgres itself uses): it understands
  // empty hosts with ?host=/socket/dir, %2F-encoded socket hosts and IPv6, which URL() with a
  // swapped-in http: scheme misread (postgresql:///db?host=/tmp gave host "db").
  // The query is read here, not by the parser: it warns on stderr about sslmode semantics.
  const q = text.indexOf('?');
  let c: ReturnType<typeof parsePgConnectionString>;
  try {
    c = parsePgConnectionString(q >= 0 ? text.slice(0, q) : text);
  } catch {
    return null;
  }
  const params: Record<string, string> = {};
  if (q >= 0) new URLSearchParams(text.slice(q + 1).replace(/#.*$/, '')).forEach((v, k) => (params[k] = v));
  const host = (c.host || params.host || env.PGHOST || 'localhost').replace(/^\[|\]$/g, '');
  return {
    host,
    port: Number(c.port || params.port || env.PGPORT || DEFAULT_PORT),
    database: c.database || params.dbname || env.PGDATABASE || c.user || env.PGUSER || 'postgres',
    user: c.user || params.user || env.PGUSER || 'postgres',
    password: c.password ? c.password : params.password,
    params,
  };
}

/** key=value connection string → an equivalent postgresql:// URI (sockets as ?host=/dir). */
export function keyValueToUri(text: string, env: Record<string, string | undefined> = {}): string {
  const c = parseKeyValue(text, env);
  const isSocket = c.host.startsWith('/');
  const base = isSocket
    ? `postgresql://${encodeURIComponent(c.user)}${c.password ? ':' + encodeURIComponent(c.password) : ''}@/${encodeURIComponent(c.database)}`
    : buildUri(c);
  const q = new URLSearchParams(isSocket ? { host: c.host, port: String(c.port), ...c.params } : c.params).toString();
  return q ? `${base}?${q}` : base;
}

export function parseKeyValue(text: string, env: Record<string, string | undefined> = {}): ConnInfo {
  const kv: Record<string, string> = {};
  const re = /(\w+)\s*=\s*('((?:[^'\\]|\\.)*)'|[^\s]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) kv[m[1]] = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[2];
  const { host, hostaddr, port, dbname, user, password, ...params } = kv;
  return {
    host: host || hostaddr || env.PGHOST || 'localhost',
    port: Number(port || env.PGPORT || DEFAULT_PORT),
    database: dbname || env.PGDATABASE || user || env.PGUSER || 'postgres',
    user: user || env.PGUSER || 'postgres',
    password,
    params,
  };
}

/** What libpq would connect to given only PG* variables (no explicit connection string). */
export function connInfoFromPgEnv(env: Record<string, string | undefined>): ConnInfo | null {
  if (!env.PGHOST && !env.PGPORT && !env.PGDATABASE && !env.PGSERVICE && !env.PGHOSTADDR) return null;
  return {
    host: env.PGHOST || env.PGHOSTADDR || 'localhost',
    port: Number(env.PGPORT || DEFAULT_PORT),
    database: env.PGDATABASE || env.PGUSER || 'postgres',
    user: env.PGUSER || 'postgres',
    params: env.PGSERVICE ? { service: env.PGSERVICE } : {},
  };
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '0.0.0.0', '']);
export function isLocalHost(host: string): boolean {
  return LOCAL_HOSTS.has(host.toLowerCase()) || host.startsWith('/') || /^127\./.test(host);
}

/** Builds a URI from parts (used for throw-away clusters and scratch databases). */
export function buildUri(c: { host: string; port: number; database: string; user: string; password?: string }): string {
  const auth = encodeURIComponent(c.user) + (c.password ? ':' + encodeURIComponent(c.password) : '');
  const host = c.host.includes(':') ? `[${c.host}]` : c.host;
  return `postgresql://${auth}@${host}:${c.port}/${encodeURIComponent(c.database)}`;
}

/** The same server and port, another database. */
export function withDatabase(uri: string, database: string): string {
  const c = parseConnInfo(uri);
  if (!c) throw new Error('not a connection string');
  if (c.host.startsWith('/')) {
    // A Unix socket directory cannot sit in the authority: keep it (and the port) as parameters.
    const auth = encodeURIComponent(c.user) + (c.password ? ':' + encodeURIComponent(c.password) : '');
    const q = new URLSearchParams({ ...c.params, host: c.host, port: String(c.port) }).toString();
    return `postgresql://${auth}@/${encodeURIComponent(database)}?${q}`;
  }
  const { host: _h, port: _p, ...rest } = c.params;
  const u = buildUri({ ...c, database });
  const q = new URLSearchParams(rest).toString();
  return q ? `${u}?${q}` : u;
}

/** Whether two connections name the same database on the same server (localhost, 127.0.0.1 and ::1 are one host). */
export function sameDatabase(a: ConnInfo, b: ConnInfo): boolean {
  const hostEq = a.host.toLowerCase() === b.host.toLowerCase() || (isLocalHost(a.host) && isLocalHost(b.host));
  return hostEq && a.port === b.port && a.database === b.database;
}
