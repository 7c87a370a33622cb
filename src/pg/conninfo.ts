/**
 * Parsing libpq connection strings (URI and key=value forms) and PG* variables into the parts
 * that identify a server. Used to tell which environment a command or URL points at.
 */
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
  try {
    return parseUriStrict(text, env);
  } catch {
    // Broken percent-encoding (decodeURIComponent throws): unparseable, like libpq would say.
    return null;
  }
}

function parseUriStrict(text: string, env: Record<string, string | undefined>): ConnInfo | null {
  let url: URL;
  try {
    // URL() only understands special schemes for host parsing; swap in http for a faithful parse.
    url = new URL(text.replace(/^postgres(?:ql)?:/i, 'http:'));
  } catch {
    return null;
  }
  const params: Record<string, string> = {};
  url.searchParams.forEach((v, k) => (params[k] = v));
  const host = decodeURIComponent(url.hostname || params.host || env.PGHOST || 'localhost').replace(/^\[|\]$/g, '');
  return {
    host,
    port: Number(url.port || params.port || env.PGPORT || DEFAULT_PORT),
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || params.dbname || env.PGDATABASE || decodeURIComponent(url.username) || 'postgres',
    user: decodeURIComponent(url.username) || params.user || env.PGUSER || 'postgres',
    password: url.password ? decodeURIComponent(url.password) : params.password,
    params,
  };
}

function parseKeyValue(text: string, env: Record<string, string | undefined>): ConnInfo {
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
  const u = buildUri({ ...c, database });
  const q = new URLSearchParams(c.params).toString();
  return q ? `${u}?${q}` : u;
}
