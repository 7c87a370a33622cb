/**
 * The one place that answers "which configured environment is this?" for an environment name,
 * a connection string, a set of PG* variables or a Supabase project ref. Everything that must
 * treat production differently (guard, restore, migrate, gateway) asks here.
 */
import type { Config, EnvironmentConfig } from './schema.js';
import type { LoadedConfig } from './load.js';
import { tryConnectionUrl, type Env } from './connection.js';
import { connInfoFromPgEnv, parseConnInfo, isLocalHost, sameDatabase, type ConnInfo } from '../pg/conninfo.js';

export type EnvironmentKind = EnvironmentConfig['kind'];

export interface ResolvedEnvironment {
  /** Configured environment name, or null when it cannot be told. */
  name: string | null;
  kind: EnvironmentKind | 'unknown';
  /** How it was recognised, for --explain and audit: "supabase ref abc…", "url host db.x:5432", … */
  via: string;
  label: string;
}

export interface TargetHint {
  environment?: string;
  url?: string;
  supabaseRef?: string;
  /** PG* variables (PGHOST, PGPORT, PGDATABASE, PGSERVICE) as the tool would see them. */
  pgEnv?: Env;
}

const UNKNOWN = (via: string): ResolvedEnvironment => ({ name: null, kind: 'unknown', via, label: 'unknown' });

function found(name: string, e: EnvironmentConfig, via: string): ResolvedEnvironment {
  return { name, kind: e.kind, via, label: e.label ?? name };
}

/** Supabase refs appear as db.<ref>.supabase.co hosts or postgres.<ref> pooler users. */
export function supabaseRefOf(c: ConnInfo): string | null {
  const host = /^db\.([a-z0-9]+)\.supabase\.(co|com|net)$/i.exec(c.host);
  if (host) return host[1].toLowerCase();
  const user = /^[a-z_]+\.([a-z0-9]{6,40})$/i.exec(c.user);
  if (user && /pooler\.supabase\.com$/i.test(c.host)) return user[1].toLowerCase();
  const prj = /^([a-z0-9]{20})\.supabase\.(co|com)$/i.exec(c.host);
  if (prj) return prj[1].toLowerCase();
  return null;
}

function matchesHostList(c: ConnInfo, hosts: string[]): boolean {
  return hosts.some((h) => {
    const [host, port] = h.split(':');
    return host.toLowerCase() === c.host.toLowerCase() && (!port || Number(port) === c.port);
  });
}

export function resolveEnvironment(
  loaded: LoadedConfig | { config: Config; root: string },
  hint: TargetHint,
  env: Env = process.env,
): ResolvedEnvironment {
  const { config } = loaded;
  const entries = Object.entries(config.environments);

  if (hint.environment !== undefined) {
    const e = config.environments[hint.environment];
    return e ? found(hint.environment, e, `environment name "${hint.environment}"`) : UNKNOWN(`no environment named "${hint.environment}"`);
  }

  if (hint.supabaseRef) {
    const ref = hint.supabaseRef.toLowerCase();
    for (const [name, e] of entries) if (e.supabaseRef === ref) return found(name, e, `supabase project ref ${ref}`);
    return UNKNOWN(`supabase project ref ${ref} is not configured`);
  }

  const info = hint.url ? parseConnInfo(hint.url, hint.pgEnv ?? {}) : hint.pgEnv ? connInfoFromPgEnv(hint.pgEnv) : null;
  if (!info) return UNKNOWN(hint.url ? 'unparseable connection string' : 'no target given');
  return resolveConnInfo(loaded as LoadedConfig, info, env);
}

export function resolveConnInfo(loaded: LoadedConfig, info: ConnInfo, env: Env = process.env): ResolvedEnvironment {
  const entries = Object.entries(loaded.config.environments);
  const where = `${info.host}:${info.port}/${info.database}`;
  const ref = supabaseRefOf(info);
  if (ref) {
    for (const [name, e] of entries) if (e.supabaseRef === ref) return found(name, e, `supabase project ref ${ref} in ${where}`);
  }
  for (const [name, e] of entries) {
    if (matchesHostList(info, e.hosts)) return found(name, e, `host ${where} listed for ${name}`);
  }
  for (const [name, e] of entries) {
    const url = tryConnectionUrl(loaded, name, env);
    const c = url ? parseConnInfo(url) : null;
    if (c && sameDatabase(c, info)) return found(name, e, `same server as ${name}'s connection (${where})`);
  }
  if (info.params.service) return UNKNOWN(`psql service "${info.params.service}" is not mapped to an environment`);
  return UNKNOWN(`${where} matches no configured environment`);
}

/** The guard policy for an environment kind, with the documented defaults. */
export function environmentPolicy(e: EnvironmentConfig): 'allow' | 'backup-first' | 'deny' {
  if (e.policy) return e.policy;
  return e.kind === 'local' ? 'allow' : e.kind === 'staging' ? 'backup-first' : 'deny';
}
