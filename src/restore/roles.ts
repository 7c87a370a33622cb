/**
 * Bringing what a dump needs from its cluster to the restore target, for every restore path
 * (restore, drill, verify, staging refresh): the roles that policies, GRANTs and default
 * privileges name, database- and role-level settings, database grants and the database comment.
 *
 * Roles that the target lacks are created NOLOGIN and without password (nobody can log in as
 * them until an operator decides so), with their memberships among roles that exist; roles that
 * the target already has are never changed. What was created is returned so a failed restore
 * can remove it again.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { pgBin } from '../pg/binaries.js';
import { ProdguardError } from '../errors.js';
import { withClient, quoteIdent, quoteLiteral } from '../pg/client.js';
import { RefusedError, errorMessage } from '../errors.js';
import type { DatabaseProperties, DbRole } from '../backup/db-properties.js';

/** Settings whose value is a list PostgreSQL keeps unquoted (GUC_LIST_QUOTE), as pg_dumpall treats them. */
const LIST_SETTINGS = new Set(['search_path', 'temp_tablespaces', 'session_preload_libraries', 'local_preload_libraries', 'shared_preload_libraries', 'unix_socket_directories']);

/** Reads database.json, or (older backups) derives roles and memberships from globals.sql. */
export function loadDatabaseProperties(paths: { propertiesPath?: string; globalsPath?: string }): DatabaseProperties | null {
  return parseDatabaseProperties({
    properties: paths.propertiesPath ? readFileSync(paths.propertiesPath, 'utf8') : null,
    globals: paths.globalsPath ? readFileSync(paths.globalsPath, 'utf8') : null,
  });
}

/** The same from the objects' text (a streamed restore keeps them in memory). */
export function parseDatabaseProperties(texts: { properties: string | null; globals: string | null }): DatabaseProperties | null {
  if (texts.properties !== null) return JSON.parse(texts.properties) as DatabaseProperties;
  if (texts.globals !== null) {
    return { version: 1, database: '', owner: '', acl: null, comment: null, settings: [], roleSettings: [], roles: rolesFromGlobals(texts.globals) };
  }
  return null;
}

/** CREATE ROLE and GRANT … TO … lines of `pg_dumpall --roles-only`. */
export function rolesFromGlobals(sql: string): DbRole[] {
  const ident = String.raw`("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
  const unq = (s: string) => (s.startsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s.toLowerCase());
  const roles = new Map<string, DbRole>();
  for (const m of sql.matchAll(new RegExp(String.raw`^CREATE ROLE ${ident};`, 'gm'))) roles.set(unq(m[1]), { name: unq(m[1]), memberOf: [], settings: [] });
  for (const m of sql.matchAll(new RegExp(String.raw`^GRANT ${ident} TO ${ident}`, 'gm'))) roles.get(unq(m[2]))?.memberOf.push(unq(m[1]));
  return [...roles.values()].filter((r) => !r.name.startsWith('pg_'));
}

function settingSql(setting: string): string {
  const eq = setting.indexOf('=');
  const name = setting.slice(0, eq);
  const value = setting.slice(eq + 1);
  const rhs = LIST_SETTINGS.has(name.toLowerCase()) ? value : quoteLiteral(value);
  return `SET ${name.split('.').map(quoteIdent).join('.')} TO ${rhs}`;
}

async function existingRoles(c: pg.Client): Promise<Set<string>> {
  return new Set((await c.query<{ n: string }>('SELECT rolname::text AS n FROM pg_roles')).rows.map((r) => r.n));
}

export interface EnsuredRoles {
  created: string[];
  /** Settings or memberships that could not be applied (e.g. a setting unknown to the target's version). */
  warnings: string[];
}

/**
 * Creates the roles the backup names that the target server lacks (NOLOGIN, no password).
 * Refuses with the list of missing roles when the connecting role may not create roles.
 */
export async function ensureRoles(serverUrl: string, props: DatabaseProperties | null): Promise<EnsuredRoles> {
  const out: EnsuredRoles = { created: [], warnings: [] };
  if (!props || props.roles.length === 0) return out;
  return withClient(serverUrl, async (c) => {
    const have = await existingRoles(c);
    const missing = props.roles.filter((r) => !have.has(r.name) && !r.name.startsWith('pg_'));
    if (missing.length === 0) return out;
    const may = (await c.query<{ ok: boolean }>('SELECT rolsuper OR rolcreaterole AS ok FROM pg_roles WHERE rolname = current_user')).rows[0]?.ok;
    if (!may) {
      throw new RefusedError(
        `the target server lacks role(s) the backup's policies and grants name (${missing.map((r) => r.name).join(', ')}) and the connecting role may not create roles; create them (NOLOGIN is enough) and retry`,
        'restore.missing-roles',
      );
    }
    try {
      for (const r of missing) {
        await c.query(`CREATE ROLE ${quoteIdent(r.name)} NOLOGIN`);
        out.created.push(r.name);
      }
    } catch (err) {
      await dropRoles(serverUrl, out.created).catch(() => {});
      throw new RefusedError(`cannot create the roles the backup needs: ${errorMessage(err)}`, 'restore.create-roles');
    }
    const now = await existingRoles(c);
    for (const r of missing) {
      for (const g of r.memberOf) {
        if (!now.has(g)) continue;
        await c.query(`GRANT ${quoteIdent(g)} TO ${quoteIdent(r.name)}`).catch((e) => out.warnings.push(`GRANT ${g} TO ${r.name}: ${errorMessage(e)}`));
      }
      for (const s of r.settings) {
        await c.query(`ALTER ROLE ${quoteIdent(r.name)} ${settingSql(s)}`).catch((e) => out.warnings.push(`ALTER ROLE ${r.name} ${s.split('=')[0]}: ${errorMessage(e)}`));
      }
    }
    return out;
  });
}

/** Removes roles a failed restore created (they own nothing once its database is gone). */
export async function dropRoles(serverUrl: string, roles: string[]): Promise<void> {
  if (roles.length === 0) return;
  await withClient(serverUrl, async (c) => {
    for (const r of [...roles].reverse()) await c.query(`DROP ROLE IF EXISTS ${quoteIdent(r)}`).catch(() => {});
  });
}

const DB_PRIVS: Record<string, string> = { C: 'CREATE', T: 'TEMPORARY', c: 'CONNECT' };

/** Parses `{=Tc/postgres,app=CTc/postgres}` into grants (grantor ignored: the restoring role grants). */
export function parseDatabaseAcl(acl: string): Array<{ grantee: string | null; privileges: string[]; grantOption: string[] }> {
  const items = acl.replace(/^\{|\}$/g, '').match(/("(?:[^"\\]|\\.)*"|[^,])+/g) ?? [];
  return items.map((raw) => {
    const item = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    const slash = item.lastIndexOf('/');
    const body = slash >= 0 ? item.slice(0, slash) : item;
    const eq = body.lastIndexOf('=');
    let grantee = body.slice(0, eq);
    if (grantee.startsWith('"')) grantee = grantee.slice(1, -1).replace(/""/g, '"');
    const privileges: string[] = [];
    const grantOption: string[] = [];
    const p = body.slice(eq + 1);
    for (let i = 0; i < p.length; i++) {
      const name = DB_PRIVS[p[i]];
      if (!name) continue;
      if (p[i + 1] === '*') grantOption.push(name);
      else privileges.push(name);
    }
    return { grantee: grantee === '' ? null : grantee, privileges, grantOption };
  });
}

/**
 * ALTER DATABASE … SET, ALTER ROLE … IN DATABASE … SET, the database ACL and comment, applied
 * to the restored database (whatever its new name). Returns what could not be applied.
 */
export async function applyDatabaseProperties(serverUrl: string, database: string, props: DatabaseProperties | null): Promise<string[]> {
  const warnings: string[] = [];
  if (!props || props.version !== 1 || !props.owner) return warnings;
  const db = quoteIdent(database);
  await withClient(serverUrl, async (c) => {
    const run = async (sql: string, what: string) => c.query(sql).catch((e) => warnings.push(`${what}: ${errorMessage(e)}`));
    const have = await existingRoles(c);
    for (const s of props.settings) await run(`ALTER DATABASE ${db} ${settingSql(s)}`, `ALTER DATABASE SET ${s.split('=')[0]}`);
    for (const rs of props.roleSettings) {
      if (!have.has(rs.role)) continue;
      for (const s of rs.settings) await run(`ALTER ROLE ${quoteIdent(rs.role)} IN DATABASE ${db} ${settingSql(s)}`, `ALTER ROLE ${rs.role} IN DATABASE SET ${s.split('=')[0]}`);
    }
    if (props.acl) {
      await run(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`, 'REVOKE ON DATABASE');
      for (const g of parseDatabaseAcl(props.acl)) {
        if (g.grantee !== null && !have.has(g.grantee)) continue;
        const who = g.grantee === null ? 'PUBLIC' : quoteIdent(g.grantee);
        if (g.privileges.length) await run(`GRANT ${g.privileges.join(', ')} ON DATABASE ${db} TO ${who}`, `GRANT ON DATABASE TO ${g.grantee ?? 'PUBLIC'}`);
        if (g.grantOption.length) await run(`GRANT ${g.grantOption.join(', ')} ON DATABASE ${db} TO ${who} WITH GRANT OPTION`, `GRANT ON DATABASE TO ${g.grantee ?? 'PUBLIC'}`);
      }
    }
    if (props.comment !== null) await run(`COMMENT ON DATABASE ${db} IS ${quoteLiteral(props.comment)}`, 'COMMENT ON DATABASE');
  });
  return warnings;
}

const SYSTEM_GRANTEES = new Set(['public', 'current_user', 'session_user', 'current_role']);

function identList(s: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\s*(?:,|$)/y;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) && m[0].length) out.push(m[1].startsWith('"') ? m[1].slice(1, -1).replace(/""/g, '"') : m[1].toLowerCase());
  return out;
}

/**
 * Fallback for backups without database.json or globals.sql: the role names the dump's ACL,
 * DEFAULT ACL and POLICY entries refer to (printed as SQL by pg_restore from the TOC alone; no
 * table data is involved). `dumpPath`: a directory dump (toc.dat suffices) or a custom-format file.
 */
export function rolesNamedInDump(dumpPath: string, workDir: string): string[] {
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
  return [...roles].filter((r) => !SYSTEM_GRANTEES.has(r.toLowerCase()));
}

/** Properties that carry only role names (the fallback above), for ensureRoles. */
export function rolesOnlyProperties(names: string[]): DatabaseProperties {
  return { version: 1, database: '', owner: '', acl: null, comment: null, settings: [], roleSettings: [], roles: names.map((name) => ({ name, memberOf: [], settings: [] })) };
}
