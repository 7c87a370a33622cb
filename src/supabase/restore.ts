/**
 * Restoring a dump of a Supabase project into a Supabase-like scratch cluster (verify, drills).
 *
 * A full pg_dump of a Supabase database re-creates the managed schemas (auth, storage, realtime,
 * extensions, vault, …), their functions, event triggers and the supabase_realtime publication.
 * Restored into a plain cluster it fails on the missing roles (anon, authenticated, …); restored
 * over a fresh Supabase-like cluster it fails on "already exists". So: the scratch cluster keeps
 * what a project gets from the platform and the dump cannot carry (roles, role memberships and
 * settings), and everything the dump does carry is dropped from the scratch first, so the backup's
 * own definitions (a current project's auth columns, not the fixture's) are what gets restored.
 * Extensions the scratch server does not have (pg_graphql, pgsodium, pg_net, …) are left out of
 * the restore list and named in the result, never silently.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster } from '../pg/cluster.js';
import { withClient } from '../pg/client.js';
import { runPgTool } from '../pg/run-tool.js';
import { ProdguardError } from '../errors.js';
import { maskSecrets } from '../security/mask.js';

export interface TocEntry {
  line: string;
  type: string;
  schema: string;
  name: string;
}

// "3552; 0 16483 TABLE DATA auth audit_log_entries supabase_auth_admin"
const TOC_TYPES = ['TABLE DATA', 'SEQUENCE SET', 'SEQUENCE OWNED BY', 'EVENT TRIGGER', 'DEFAULT ACL', 'MATERIALIZED VIEW', 'FK CONSTRAINT', 'ROW SECURITY', 'PUBLICATION TABLE', 'PUBLICATION', 'SCHEMA', 'EXTENSION', 'COMMENT', 'ACL', 'TABLE', 'FUNCTION', 'VIEW', 'SEQUENCE', 'TRIGGER', 'INDEX', 'CONSTRAINT', 'POLICY', 'TYPE', 'DEFAULT', 'DOMAIN', 'AGGREGATE', 'RULE'];

export function parseToc(text: string): TocEntry[] {
  const out: TocEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+;\s+\d+\s+\d+\s+(.*)$/.exec(line);
    if (!m) continue;
    const rest = m[1];
    const type = TOC_TYPES.find((t) => rest.startsWith(t + ' ')) ?? rest.split(' ')[0];
    const [schema = '', ...nameParts] = rest.slice(type.length + 1).split(' ');
    out.push({ line, type, schema, name: nameParts.join(' ') });
  }
  return out;
}

/** A dump is a Supabase project's when it carries the auth and storage schemas. */
export function isSupabaseToc(toc: TocEntry[]): boolean {
  const schemas = new Set(toc.filter((e) => e.type === 'SCHEMA').map((e) => e.name.split(' ')[0]));
  return schemas.has('auth') && schemas.has('storage');
}

export async function readToc(dumpPath: string): Promise<TocEntry[]> {
  const res = await runPgTool('pg_restore', ['-l', dumpPath]);
  return parseToc(res.stdout);
}

/** Whether a materialized dump is a Supabase project's (read from the dump, not from the config). */
export async function isSupabaseDump(dumpPath: string): Promise<boolean> {
  return isSupabaseToc(await readToc(dumpPath));
}

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
const firstWord = (s: string) => s.split(' ')[0].replace(/^"|"$/g, '');

export interface SupabaseRestoreResult {
  /** Extensions in the dump that this server does not have (their objects were not restored). */
  missingExtensions: string[];
}

/**
 * Restores a Supabase dump into `database` of a Supabase-like cluster (as its superuser), after
 * removing from the scratch everything the dump re-creates. Stops at the first error.
 */
export async function restoreSupabaseDump(dumpPath: string, cluster: Cluster, database: string, opts: { jobs?: number; workDir: string }): Promise<SupabaseRestoreResult> {
  const toc = await readToc(dumpPath);
  const admin = cluster.url(database, 'supabase_admin');
  const available = await withClient(admin, async (c) => new Set((await c.query<{ name: string }>('SELECT name FROM pg_available_extensions')).rows.map((r) => r.name)));
  const dumpedExt = toc.filter((e) => e.type === 'EXTENSION').map((e) => firstWord(e.name));
  const missingExtensions = dumpedExt.filter((x) => !available.has(x));
  const missing = new Set(missingExtensions);
  const schemas = toc.filter((e) => e.type === 'SCHEMA' && e.schema === '-').map((e) => firstWord(e.name)).filter((s) => s !== 'public');
  const eventTriggers = toc.filter((e) => e.type === 'EVENT TRIGGER').map((e) => firstWord(e.name));
  const publications = toc.filter((e) => e.type === 'PUBLICATION').map((e) => firstWord(e.name));
  await withClient(admin, async (c) => {
    for (const t of eventTriggers) await c.query(`DROP EVENT TRIGGER IF EXISTS ${ident(t)}`);
    for (const p of publications) await c.query(`DROP PUBLICATION IF EXISTS ${ident(p)}`);
    for (const x of dumpedExt.filter((x) => available.has(x))) await c.query(`DROP EXTENSION IF EXISTS ${ident(x)} CASCADE`);
    for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS ${ident(s)} CASCADE`);
  });
  const keep = toc.filter((e) => {
    if (e.type === 'EXTENSION' && missing.has(firstWord(e.name))) return false;
    if (e.type === 'COMMENT' && e.schema === '-' && /^EXTENSION /.test(e.name) && missing.has(firstWord(e.name.slice(10)))) return false;
    // Objects inside the schema of a missing extension come with that extension.
    return true;
  });
  const listFile = join(opts.workDir, 'supabase-restore.list');
  writeFileSync(listFile, keep.map((e) => e.line).join('\n') + '\n');
  const args = ['--no-owner', '--exit-on-error', '--no-password', '-L', listFile, `--dbname=${admin}`];
  if (opts.jobs && opts.jobs > 1) args.push(`--jobs=${opts.jobs}`);
  args.push(dumpPath);
  const res = await runPgTool('pg_restore', args, { allowFailure: true });
  if (res.code !== 0) {
    const last = res.stderr.trim().split('\n').filter(Boolean).slice(-2).join(' ');
    throw new ProdguardError(`pg_restore into the Supabase-like scratch cluster failed: ${maskSecrets(last)}`, { code: 'supabase.restore' });
  }
  return { missingExtensions };
}

/** Whether a live database is a Supabase project's (facts from its catalogs: auth schema, API roles). */
export async function isSupabaseDatabase(url: string): Promise<boolean> {
  return withClient(url, async (c) => {
    const r = await c.query<{ ok: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'auth')
          AND (SELECT count(*) FROM pg_roles WHERE rolname IN ('anon', 'authenticated', 'service_role')) = 3 AS ok`,
    );
    return r.rows[0].ok;
  });
}
