/**
 * Which environment a command hits. Collects what the tool would use (flags, connection strings,
 * `--linked`, variables, the .env files it loads, psql service names) and asks
 * src/config/resolve-environment.ts — the one place that maps those to a configured environment.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { resolveConnInfo, resolveEnvironment, type EnvironmentKind } from '../config/resolve-environment.js';
import type { Env } from '../config/connection.js';
import { isLocalHost, parseConnInfo, type ConnInfo } from '../pg/conninfo.js';
import { parse as parseDotenvText } from 'dotenv';

/** The environment variables a command sees (one Env type: src/config/connection.ts). */
export type { Env };

const WORST: Record<'production' | 'unknown' | 'staging' | 'local', number> = { production: 3, unknown: 2, staging: 1, local: 0 };

export interface Target {
  name: string | null;
  kind: EnvironmentKind | 'unknown';
  label: string;
  /** How it was recognised: "supabase/.temp/project-ref = abc (--linked)", "DATABASE_URL from .env", … */
  via: string;
}

export interface GuardScope {
  cwd: string;
  env: Env;
  loaded: LoadedConfig | null;
  /** Files written earlier on the same command line (path as written → content). */
  files: Map<string, string>;
  /** Set inside `docker exec`/`ssh`: a default (socket) connection there is not this machine's. */
  remote?: string;
  /** A tunnel (ssh -L, kubectl port-forward, a cloud SQL proxy) is opened on this command line: localhost may be anything. */
  tunnel?: boolean;
}

/** What a tool would connect to, as far as its arguments say. */
export interface TargetSpec {
  /** A word that decides the target is unknown to the guard (an unset variable…). */
  opaque?: string;
  url?: string;
  supabaseRef?: string;
  /** supabase --linked: read supabase/.temp/project-ref under this workdir (default cwd). */
  linked?: { workdir?: string };
  /** Framework environment name (RAILS_ENV, knex --env, …). */
  environmentName?: string;
  /** libpq-style flags: -h -p -d -U, service. */
  conn?: { host?: string; port?: string; dbname?: string; user?: string; service?: string };
  /** URL variables the tool reads, in its order. */
  urlVars?: string[];
  /** Look only in dotenvFiles, not the environment (a config that loads its own file with override). */
  skipEnv?: boolean;
  /** The .env files the tool loads (relative to cwd), in priority order. */
  dotenvFiles?: string[];
  /** The tool honours PG* variables (libpq). */
  pgEnv?: boolean;
  /** When nothing else names a target, the tool uses this local default (supabase's local stack). */
  localDefault?: string;
}

export const URL_VARS = ['DATABASE_URL', 'DIRECT_URL', 'POSTGRES_URL', 'POSTGRES_PRISMA_URL', 'POSTGRES_URL_NON_POOLING', 'SUPABASE_DB_URL', 'DB_URL', 'PG_URL', 'PGURL'];

export function localTarget(via: string): Target {
  return { name: null, kind: 'local', label: 'local', via };
}
export function unknownTarget(via: string): Target {
  return { name: null, kind: 'unknown', label: 'unknown', via };
}

function fromResolved(r: { name: string | null; kind: Target['kind']; via: string; label: string }): Target {
  return { name: r.name, kind: r.kind, label: r.label, via: r.via };
}

/**
 * A file as the command would read it (one home: decide.ts and target resolution): what this
 * command line wrote, under any spelling (`/tmp/p/package.json` read as package.json in /tmp/p);
 * inside a container or on another host nothing else (this machine's files are not what the tool
 * reads); /dev/stdin, /dev/fd/N, /proc/self/… unknown (this process's, not the command's).
 */
export function readScoped(scope: GuardScope, path: string): string | null {
  if (scope.files.has(path)) return scope.files.get(path)!;
  const abs = isAbsolute(path) ? path : resolve(scope.cwd, path);
  for (const [k, v] of scope.files) if ((isAbsolute(k) ? k : resolve(scope.cwd, k)) === abs) return v;
  if (scope.remote) return null;
  if (abs === '/dev/null') return '';
  if (/^\/(dev|proc)\//.test(abs)) return null;
  try {
    return readFileSync(abs, 'utf8');
  } catch {
    return null;
  }
}

/** Parses a .env file the way the tools that load it do (dotenv: export, quotes, multi-line values, comments). */
export function parseDotenv(text: string): Env {
  return parseDotenvText(text);
}

export function loadDotenvFiles(scope: GuardScope, files: string[]): Array<{ file: string; vars: Env }> {
  const out: Array<{ file: string; vars: Env }> = [];
  for (const f of files) {
    const text = readScoped(scope, f);
    if (text !== null) out.push({ file: f, vars: parseDotenv(text) });
  }
  return out;
}

/** The supabase project ref `supabase link` stored, if any. */
export function linkedRef(scope: GuardScope, workdir?: string): string | null {
  const base = workdir ? (isAbsolute(workdir) ? workdir : resolve(scope.cwd, workdir)) : scope.cwd;
  // The CLI looks for supabase/ in the workdir or its parents (like git).
  let dir = base;
  for (let i = 0; i < 20; i++) {
    const f = join(dir, 'supabase', '.temp', 'project-ref');
    if (existsSync(f)) {
      try {
        return readFileSync(f, 'utf8').trim() || null;
      } catch {
        return null;
      }
    }
    if (existsSync(join(dir, 'supabase', 'config.toml'))) return null;
    const parent = resolve(dir, '..');
    if (parent === dir) break;
    dir = parent;
  }
  return null;
}

/** Looks a psql service name up in PGSERVICEFILE, ~/.pg_service.conf, $PGSYSCONFDIR/pg_service.conf. */
export function serviceConnInfo(scope: GuardScope, service: string): ConnInfo | null {
  const files = [scope.env.PGSERVICEFILE, join(scope.env.HOME ?? homedir(), '.pg_service.conf'), scope.env.PGSYSCONFDIR ? join(scope.env.PGSYSCONFDIR, 'pg_service.conf') : undefined];
  for (const f of files) {
    if (!f) continue;
    let text: string;
    try {
      // Relative to the directory the command runs in (where psql would look), not to this process's.
      text = readFileSync(resolve(scope.cwd, f), 'utf8');
    } catch {
      continue;
    }
    let section: string | null = null;
    const kv: string[] = [];
    for (const line of text.split(/\r?\n/)) {
      const s = line.trim();
      if (!s || s.startsWith('#')) continue;
      const head = /^\[(.+)\]$/.exec(s);
      if (head) {
        if (section === service) break;
        section = head[1];
        continue;
      }
      if (section === service) {
        const eq = s.indexOf('=');
        if (eq > 0) kv.push(`${s.slice(0, eq).trim()}='${s.slice(eq + 1).trim().replace(/'/g, "\\'")}'`);
      }
    }
    if (kv.length) return parseConnInfo(kv.join(' '));
  }
  return null;
}

function classifyInfo(scope: GuardScope, info: ConnInfo, via: string): Target {
  if (info.params.service) {
    const svc = serviceConnInfo(scope, info.params.service);
    if (!svc) return unknownTarget(`psql service "${info.params.service}" not found (${via})`);
    info = { ...svc, database: info.database || svc.database };
    via = `service "${info.params.service ?? ''}" ${via}`.trim();
  }
  const where = `${info.host}:${info.port}/${info.database}`;
  if (scope.loaded) {
    const r = resolveConnInfo(scope.loaded, info, scope.env as NodeJS.ProcessEnv);
    if (r.kind !== 'unknown') return { ...fromResolved(r), via: `${r.via} (${via})` };
  }
  const local = isLocalHost(info.host) || /^(host|gateway)\.docker\.internal$|^host\.containers\.internal$/i.test(info.host);
  if (local && !scope.remote && info.host && !info.host.startsWith('/') && unexpectedLocalPort(scope, info.port)) {
    return unknownTarget(`${where}: a port on this machine that no configured environment uses (a tunnel to another server looks the same) (${via})`);
  }
  if (local && !scope.remote) return localTarget(`${where} is this machine and matches no configured environment (${via})`);
  if (isLocalHost(info.host) && scope.remote) return unknownTarget(`${where} inside ${scope.remote} (${via})`);
  return unknownTarget(`${where} matches no configured environment (${via})`);
}

export function resolveUrl(scope: GuardScope, url: string, via: string, pgEnv?: Env): Target {
  const jdbc = url.replace(/^jdbc:/i, '');
  // libpq tries every host of a multi-host URI in turn: the worst of them is the target.
  const variants = splitMultiHostUri(jdbc);
  if (variants.length > 1) return worstOf(variants.map((v, i) => resolveUrl(scope, v, `${via}, host ${i + 1} of ${variants.length}`, pgEnv)));
  const info = parseConnInfo(jdbc, pgEnv ?? {});
  if (!info) return unknownTarget(`cannot parse the connection string (${via})`);
  const kvHostaddr = /(?:^|\s)hostaddr\s*=\s*'?([^\s']+)/.exec(jdbc)?.[1];
  return classifyHosts(scope, info, via, kvHostaddr ?? info.params.hostaddr ?? pgEnv?.PGHOSTADDR);
}

/** `postgresql://u@h1:5432,h2:5433/db` → one URI per host. */
export function splitMultiHostUri(uri: string): string[] {
  const m = /^([a-z]+:\/\/)([^@/?#]*@)?([^/?#]*)(.*)$/i.exec(uri);
  if (!m || !m[3].includes(',')) return [uri];
  return m[3].split(',').filter(Boolean).map((h) => `${m[1]}${m[2] ?? ''}${h}${m[4]}`);
}

/**
 * libpq connects to `hostaddr` when it is given (host then only names the server for TLS), and
 * tries each of a comma-separated host list: every address is classified, the worst wins.
 */
function classifyHosts(scope: GuardScope, info: ConnInfo, via: string, hostaddr?: string): Target {
  const list = (hostaddr || info.host).split(',').map((h) => h.trim()).filter(Boolean);
  if (list.length <= 1 && !hostaddr) return classifyInfo(scope, info, via);
  return worstOf(list.map((h) => classifyInfo(scope, { ...info, host: h, params: { ...info.params } }, hostaddr ? `${via}, hostaddr ${h}` : `${via}, host ${h}`)));
}

function worstOf(ts: Target[]): Target {
  let worst = ts[0];
  for (const t of ts) if (WORST[t.kind] > WORST[worst.kind]) worst = t;
  return worst;
}

export function resolveTarget(scope: GuardScope, spec: TargetSpec): Target {
  if (spec.opaque) return unknownTarget(`${spec.opaque}`);
  if (spec.url !== undefined) return resolveUrl(scope, spec.url, 'connection string', spec.pgEnv ? scope.env : {});
  if (spec.supabaseRef) return resolveRef(scope, spec.supabaseRef, `--project-ref ${spec.supabaseRef}`);
  if (spec.linked) {
    const ref = linkedRef(scope, spec.linked.workdir);
    if (!ref) return unknownTarget('--linked, but no supabase/.temp/project-ref was found (not linked?)');
    return resolveRef(scope, ref, `supabase/.temp/project-ref = ${ref} (--linked)`);
  }
  if (spec.environmentName) {
    const n = spec.environmentName;
    const e = scope.loaded?.config.environments[n];
    if (e && scope.loaded) return fromResolved(resolveEnvironment(scope.loaded, { environment: n }));
    if (/^(dev|development|test|local)$/.test(n)) return localTarget(`environment "${n}" (development)`);
    if (/^prod(uction)?$/.test(n)) return { name: null, kind: 'production', label: n, via: `environment "${n}"` };
  }
  const c = spec.conn;
  if (c && (c.host || c.port || c.dbname || c.user || c.service)) {
    if (c.dbname && (parseConnInfo(c.dbname) || /^(postgres(ql)?|jdbc:postgresql):\/\//i.test(c.dbname))) return resolveUrl(scope, c.dbname, 'connection string', spec.pgEnv ? scope.env : {});
    const pg = spec.pgEnv ? scope.env : {};
    if (c.service || (!c.host && pg.PGSERVICE)) {
      const svc = serviceConnInfo(scope, c.service ?? pg.PGSERVICE!);
      if (!svc) return unknownTarget(`psql service "${c.service ?? pg.PGSERVICE}" not found`);
      return classifyInfo(scope, { ...svc, database: c.dbname ?? svc.database }, `service ${c.service ?? pg.PGSERVICE}`);
    }
    const info: ConnInfo = {
      host: c.host ?? pg.PGHOST ?? '',
      port: Number(c.port ?? pg.PGPORT ?? 5432),
      database: c.dbname ?? pg.PGDATABASE ?? c.user ?? pg.PGUSER ?? 'postgres',
      user: c.user ?? pg.PGUSER ?? 'postgres',
      params: {},
    };
    return classifyHosts(scope, info, 'connection flags', pg.PGHOSTADDR);
  }
  for (const v of spec.skipEnv ? [] : spec.urlVars ?? []) {
    const val = scope.env[v];
    if (!val) continue;
    const fromEnv = resolveUrl(scope, val, `$${v}`);
    // A .env file rewritten on this very line (`cp .env.production .env && …`): the worse of the two counts.
    const rewritten = (spec.dotenvFiles ?? []).filter((f) => scope.files.has(f));
    if (rewritten.length) return worstOf([fromEnv, resolveTarget(scope, { ...spec, dotenvFiles: rewritten, skipEnv: true })]);
    return fromEnv;
  }
  if (spec.dotenvFiles?.length) {
    for (const { file, vars } of loadDotenvFiles(scope, spec.dotenvFiles)) {
      for (const v of spec.urlVars ?? []) if (vars[v]) return resolveUrl(scope, vars[v]!, `${v} from ${file}`);
    }
  }
  if (spec.pgEnv) {
    const e = scope.env;
    if (e.PGSERVICE) {
      const svc = serviceConnInfo(scope, e.PGSERVICE);
      if (!svc) return unknownTarget(`PGSERVICE=${e.PGSERVICE} not found in any service file`);
      return classifyInfo(scope, svc, `PGSERVICE=${e.PGSERVICE}`);
    }
    if (e.PGHOST || e.PGHOSTADDR || e.PGPORT || e.PGDATABASE) {
      return classifyHosts(scope, { host: e.PGHOST ?? '', port: Number(e.PGPORT ?? 5432), database: e.PGDATABASE ?? e.PGUSER ?? 'postgres', user: e.PGUSER ?? 'postgres', params: {} }, 'PG* variables', e.PGHOSTADDR);
    }
    if (scope.remote) return unknownTarget(`the default connection inside ${scope.remote}`);
    return localTarget('no host given: the local socket');
  }
  if (spec.localDefault) return scope.remote ? unknownTarget(`${spec.localDefault} inside ${scope.remote}`) : localTarget(spec.localDefault);
  return unknownTarget('the command names no target and none is set in the environment');
}

/**
 * A loopback TCP port that is neither 5432 nor the port of a configured local environment: an
 * SSH/kubectl tunnel to production looks exactly like this, so it is not trusted as local when
 * the project names its local database.
 */
function unexpectedLocalPort(scope: GuardScope, port: number): boolean {
  if (scope.tunnel) return true;
  const envs = scope.loaded ? Object.values(scope.loaded.config.environments) : [];
  const ports = new Set<number>([5432]);
  for (const e of envs) {
    if (e.kind !== 'local') continue;
    const u = e.urlEnv ? scope.env[e.urlEnv] : undefined;
    const m = u ? /:(\d+)(\/|$|\?)/.exec(u.replace(/^[a-z]+:\/\/[^@]*@/, '')) : null;
    if (m) ports.add(Number(m[1]));
    for (const h of e.hosts ?? []) {
      const hp = /:(\d+)$/.exec(h);
      if (hp) ports.add(Number(hp[1]));
    }
  }
  if (ports.size === 1) return false; // no local environment with a port: nothing to compare with
  return !ports.has(port);
}

export function resolveRef(scope: GuardScope, ref: string, via: string): Target {
  if (!scope.loaded) return unknownTarget(`${via}; no prodguard.yaml to say which environment that is`);
  const r = resolveEnvironment(scope.loaded, { supabaseRef: ref });
  return r.kind === 'unknown' ? unknownTarget(`${via}: ${r.via}`) : { ...fromResolved(r), via };
}


/**
 * The worst database a command that cannot be seen into could reach from here: every connection
 * string in the environment and the .env files, the linked Supabase project, the PG* variables.
 */
export function ambientTarget(scope: GuardScope): Target {
  const candidates: Target[] = [];
  for (const [k, v] of Object.entries(scope.env)) {
    if (v && /^(postgres(ql)?|jdbc:postgresql):\/\//i.test(v)) candidates.push(resolveUrl(scope, v, `$${k}`));
    // A connection variable set to a value the guard does not know could point anywhere.
    else if (v?.includes('\u0000?') && (URL_VARS.includes(k) || /^PG(HOST|HOSTADDR|PORT|DATABASE|SERVICE)$/.test(k) || /DATABASE|_URL$|DSN/.test(k))) candidates.push(unknownTarget(`$${k} is set to a value the guard does not know`));
  }
  for (const { file, vars } of loadDotenvFiles(scope, ['.env', '.env.local', '.env.production', '.env.production.local'])) {
    for (const [k, v] of Object.entries(vars)) if (v && /^postgres(ql)?:\/\//i.test(v)) candidates.push(resolveUrl(scope, v, `${k} in ${file}`));
  }
  const ref = scope.remote ? null : linkedRef(scope);
  if (ref) candidates.push(resolveRef(scope, ref, `supabase/.temp/project-ref = ${ref}`));
  candidates.push(resolveTarget(scope, { pgEnv: true }));
  let worst = candidates[0];
  for (const c of candidates) if (WORST[c.kind] > WORST[worst.kind]) worst = c;
  return worst;
}

export function describeTarget(t: Target): string {
  if (t.kind === 'unknown') return `an unidentified database (${t.via})`;
  if (t.kind === 'local') return 'a local database';
  const linked = /--linked/.test(t.via) ? 'the linked project ' : '';
  return `${linked}${t.label} (${t.kind})`;
}
