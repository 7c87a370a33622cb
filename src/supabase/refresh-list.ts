/**
 * Staging refresh between Supabase projects: production's dump is restored into a private
 * database on staging's server as staging's `postgres` — not superuser, as on the platform. A
 * Supabase dump carries a few entries only the platform's superuser (`supabase_admin`) can make:
 * event triggers (superuser only) and `ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin` (only its
 * members). With `--exit-on-error` any of them fails the whole refresh, so they are left out of
 * the restore list — and named, never silently. Everything else (your schemas, auth/storage data,
 * policies, grants to anon/authenticated) restores. Extensions the server lacks are left out and
 * named too, as verify does (src/supabase/restore.ts).
 *
 * undefined when the dump is not a Supabase project's or the target role is superuser (nothing to
 * leave out: the ordinary restore runs unchanged).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withClient } from '../pg/client.js';
import { isSupabaseToc, readToc, type TocEntry } from './restore.js';

export interface SupabaseRefreshList {
  /** A pg_restore -L list of the entries to restore. */
  listFile: string;
  /** What was left out, one description per kind, for the refresh's phases and record. */
  leftOut: string[];
}

const firstWord = (s: string) => s.split(' ')[0].replace(/^"|"$/g, '');
/** "DEFAULT ACL public DEFAULT PRIVILEGES FOR TABLES supabase_admin" → supabase_admin */
const defaultAclOwner = (e: TocEntry) => e.name.trim().split(' ').pop()!.replace(/^"|"$/g, '');

export async function supabaseRefreshList(dumpPath: string, targetUrl: string, workDir: string): Promise<SupabaseRefreshList | undefined> {
  const toc = await readToc(dumpPath);
  if (!isSupabaseToc(toc)) return undefined;
  const owners = [...new Set(toc.filter((e) => e.type === 'DEFAULT ACL').map(defaultAclOwner))];
  const facts = await withClient(targetUrl, async (c) => {
    const sup = (await c.query<{ s: boolean }>(`SELECT rolsuper AS s FROM pg_roles WHERE rolname = current_user`)).rows[0]?.s ?? false;
    const member = new Set(
      (await c.query<{ r: string }>(`SELECT rolname AS r FROM pg_roles WHERE rolname = ANY($1) AND pg_has_role(current_user, oid, 'MEMBER')`, [owners])).rows.map((x) => x.r),
    );
    const available = new Set((await c.query<{ name: string }>('SELECT name FROM pg_available_extensions')).rows.map((r) => r.name));
    return { sup, member, available };
  });
  if (facts.sup) return undefined;
  const eventTriggers: string[] = [];
  const aclOwners = new Set<string>();
  const missingExt: string[] = [];
  const keep = toc.filter((e) => {
    if (e.type === 'EVENT TRIGGER') {
      eventTriggers.push(firstWord(e.name));
      return false;
    }
    if (e.type === 'COMMENT' && /^EVENT TRIGGER /.test(e.name)) return false;
    if (e.type === 'DEFAULT ACL' && !facts.member.has(defaultAclOwner(e))) {
      aclOwners.add(defaultAclOwner(e));
      return false;
    }
    if (e.type === 'EXTENSION' && !facts.available.has(firstWord(e.name))) {
      missingExt.push(firstWord(e.name));
      return false;
    }
    if (e.type === 'COMMENT' && e.schema === '-' && /^EXTENSION /.test(e.name) && !facts.available.has(firstWord(e.name.slice(10)))) return false;
    return true;
  });
  const leftOut: string[] = [];
  if (eventTriggers.length) leftOut.push(`the platform's event trigger(s) ${eventTriggers.join(', ')} (superuser only)`);
  if (aclOwners.size) leftOut.push(`default privileges of ${[...aclOwners].join(', ')} (the platform's roles)`);
  if (missingExt.length) leftOut.push(`extension(s) this server lacks: ${missingExt.join(', ')}`);
  const listFile = join(workDir, 'supabase-refresh.list');
  writeFileSync(listFile, keep.map((e) => e.line).join('\n') + '\n', { mode: 0o600 });
  return { listFile, leftOut };
}
