/**
 * Grants come along with a staging refresh (no `--no-acl`): the roles production's GRANTs, RLS
 * policies and default privileges name must exist on staging's server, so those missing there
 * are created first — NOLOGIN and without passwords (a copied role never becomes a way in).
 * The role names are read from the dump's ACL entries only (pg_restore prints them as SQL to a
 * pipe; no table data is involved), and from policies' TO lists.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { pgBin } from '../pg/binaries.js';
import { quoteIdent } from '../pg/client.js';
import { ProdguardError } from '../errors.js';

const SYSTEM = new Set(['public', 'current_user', 'session_user', 'current_role']);

function identList(s: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\s*(?:,|$)/y;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) && m[0].length) out.push(m[1].startsWith('"') ? m[1].slice(1, -1).replace(/""/g, '"') : m[1].toLowerCase());
  return out;
}

/** Role names the dump's ACL and POLICY entries refer to. */
export function rolesInDump(dumpPath: string, workDir: string): string[] {
  const toc = spawnSync(pgBin('pg_restore'), ['-l', dumpPath], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (toc.status !== 0) throw new ProdguardError(`pg_restore -l failed: ${toc.stderr.trim().split('\n').pop()}`, { code: 'restore.pg-restore' });
  const lines = toc.stdout.split('\n').filter((l) => /^\d+;.* (ACL|DEFAULT ACL|POLICY) /.test(l));
  if (!lines.length) return [];
  const list = join(workDir, 'acl.list');
  writeFileSync(list, lines.join('\n') + '\n', { mode: 0o600 });
  const sql = spawnSync(pgBin('pg_restore'), ['-L', list, '-f', '-', dumpPath], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (sql.status !== 0) throw new ProdguardError(`pg_restore failed reading ACLs: ${sql.stderr.trim().split('\n').pop()}`, { code: 'restore.pg-restore' });
  const roles = new Set<string>();
  for (const stmt of sql.stdout.split(/;\s*\n/)) {
    const s = stmt.replace(/^--.*$/gm, ' ').replace(/\s+/g, ' ').trim();
    let m = /^GRANT .+? TO (.+?)(?: WITH (?:GRANT|ADMIN) OPTION)?(?: GRANTED BY .+)?$/i.exec(s);
    if (m) identList(m[1]).forEach((r) => roles.add(r));
    m = /^REVOKE .+? FROM (.+?)(?: CASCADE| RESTRICT)?$/i.exec(s);
    if (m) identList(m[1]).forEach((r) => roles.add(r));
    m = /^ALTER DEFAULT PRIVILEGES FOR ROLE (.+?) (?:IN SCHEMA|GRANT|REVOKE)/i.exec(s);
    if (m) identList(m[1]).forEach((r) => roles.add(r));
    m = /^CREATE POLICY .+? TO (.+?)(?: USING| WITH CHECK|$)/i.exec(s);
    if (m) identList(m[1]).forEach((r) => roles.add(r));
  }
  return [...roles].filter((r) => !SYSTEM.has(r.toLowerCase()));
}

/** Creates the missing ones (NOLOGIN, no password); returns their names. */
export async function ensureRoles(m: pg.Client, roles: string[]): Promise<string[]> {
  if (!roles.length) return [];
  const have = new Set((await m.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname = ANY($1)`, [roles])).rows.map((r) => r.rolname));
  const created: string[] = [];
  for (const r of roles) {
    if (have.has(r)) continue;
    await m.query(`CREATE ROLE ${quoteIdent(r)} NOLOGIN`);
    created.push(r);
  }
  return created;
}
