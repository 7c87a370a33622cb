/**
 * Which kind of Supabase connection a URL is, and which jobs it can do.
 *
 * Supabase offers three strings (docs/supabase.md): the direct host `db.<ref>.supabase.co:5432`
 * (IPv6-only unless the IPv4 add-on is bought), the shared pooler (Supavisor) in session mode
 * `<region>.pooler.supabase.com:5432`, and the same pooler in transaction mode on port 6543.
 * Transaction mode hands each transaction to a different server connection: `pg_dump` (which
 * needs one snapshot across many statements), session-level settings, advisory locks and
 * prepared statements do not work there, so dumps and migrations are refused on it.
 */
import { ProdguardError } from '../errors.js';

export type SupabaseConnectionKind = 'direct' | 'session-pooler' | 'transaction-pooler' | 'other';

export interface ConnectionFacts {
  kind: SupabaseConnectionKind;
  host: string;
  port: number;
  /** The project ref when it can be read from the host or the pooler user name (postgres.<ref>). */
  projectRef?: string;
}

function parse(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

export function classifyConnection(url: string): ConnectionFacts {
  const u = parse(url);
  if (!u) return { kind: 'other', host: '', port: 5432 };
  const host = u.hostname.toLowerCase();
  const port = Number(u.port || 5432);
  const pgbouncer = /^(true|1|yes)$/i.test(u.searchParams.get('pgbouncer') ?? '');
  const direct = /^db\.([a-z0-9]+)\.supabase\.co$/.exec(host);
  const userRef = /^[^.]+\.([a-z0-9]+)$/.exec(decodeURIComponent(u.username));
  const projectRef = direct?.[1] ?? userRef?.[1];
  const base = { host, port, ...(projectRef ? { projectRef } : {}) };
  // pgbouncer=true is what Prisma and others add for any transaction-mode pooler, Supabase's or not.
  if (pgbouncer) return { kind: 'transaction-pooler', ...base };
  if (host.endsWith('.pooler.supabase.com')) return { kind: port === 6543 ? 'transaction-pooler' : 'session-pooler', ...base };
  // The dedicated pooler (PgBouncer) on the direct host listens on 6543 in transaction mode.
  if (direct) return { kind: port === 6543 ? 'transaction-pooler' : 'direct', ...base };
  return { kind: 'other', ...base };
}

/**
 * Refuses a transaction-mode pooler for jobs that need one session (dumps, migrations, restores).
 * `job` names the job in the message, e.g. "pg_dump" or "migrations".
 */
export function assertSessionConnection(url: string, job: string): void {
  const f = classifyConnection(url);
  if (f.kind !== 'transaction-pooler') return;
  throw new ProdguardError(
    `${job} cannot run through a transaction-mode pooler (${f.host}:${f.port}${f.port === 6543 ? '' : ', pgbouncer=true'}): ` +
      `use the session pooler (port 5432 on *.pooler.supabase.com) or the direct connection db.<ref>.supabase.co:5432 — see docs/supabase.md`,
    { code: 'supabase.transaction-pooler' },
  );
}

/** Major version of a version string such as "15.8", "16.4 (Debian 16.4-1)" or server_version_num "150008". */
export function majorVersion(v: string): number {
  const t = v.trim();
  if (/^\d{5,6}$/.test(t)) return Math.floor(Number(t) / 10000);
  const m = /^(\d+)/.exec(t);
  return m ? Number(m[1]) : NaN;
}

/**
 * A warning when a client tool is older than the server (pg_dump refuses a newer server's major;
 * psql works but misses features), or undefined when it is fine.
 */
export function toolVersionWarning(tool: string, toolVersion: string, serverVersion: string): string | undefined {
  const t = majorVersion(toolVersion);
  const s = majorVersion(serverVersion);
  if (!Number.isFinite(t) || !Number.isFinite(s) || t >= s) return undefined;
  return `${tool} ${toolVersion.trim()} is older than the server (PostgreSQL ${serverVersion.trim()}): install the PostgreSQL ${s} client tools (Supabase projects run PostgreSQL ${s}) — ${tool === 'pg_dump' ? 'pg_dump refuses to dump a newer server' : 'some features will be missing'}`;
}
