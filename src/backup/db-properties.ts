/**
 * What a database needs from its cluster that pg_dump (without --create) leaves out, captured at
 * backup time so every restore path can bring it back:
 *
 * - the roles the cluster has (name, NOLOGIN/LOGIN is not kept: restores create them NOLOGIN and
 *   without password) and their memberships — policies, GRANTs and ownership name them, and a
 *   restore onto a server that lacks them fails. Read from pg_roles, so it works on managed
 *   services where `pg_dumpall --roles-only` is refused;
 * - `ALTER DATABASE … SET` and `ALTER ROLE … [IN DATABASE …] SET` settings (pg_db_role_setting);
 * - the database's ACL (CONNECT/CREATE/TEMPORARY grants) and its comment.
 *
 * Settings may hold secrets (Supabase keeps its JWT secret in a database setting), so this goes
 * into the backup as an encrypted object like the dump itself, never into the manifest.
 */
import type pg from 'pg';

export interface DbRole {
  name: string;
  /** Roles this one is a member of. */
  memberOf: string[];
  /** ALTER ROLE … SET for all databases ("name=value"). */
  settings: string[];
}

export interface DatabaseProperties {
  version: 1;
  database: string;
  owner: string;
  /** aclitem[] as text, or null for the default privileges. */
  acl: string | null;
  comment: string | null;
  /** ALTER DATABASE … SET ("name=value"). */
  settings: string[];
  /** ALTER ROLE r IN DATABASE … SET. */
  roleSettings: Array<{ role: string; settings: string[] }>;
  roles: DbRole[];
}

export const DB_PROPERTIES_NAME = 'database.json';

export function dbPropertiesObjectName(encrypted: boolean): string {
  return `${DB_PROPERTIES_NAME}${encrypted ? '.age' : ''}`;
}

/** Reads the current database's properties (read-only catalog queries). */
export async function readDatabaseProperties(c: pg.Client): Promise<DatabaseProperties> {
  const db = (await c.query<{ database: string; owner: string; acl: string | null; comment: string | null }>(
    `SELECT d.datname AS database, pg_get_userbyid(d.datdba) AS owner, d.datacl::text AS acl, shobj_description(d.oid, 'pg_database') AS comment
       FROM pg_database d WHERE d.datname = current_database()`,
  )).rows[0];
  const settings = await c.query<{ role: string | null; db: boolean; config: string[] }>(
    `SELECT r.rolname AS role, s.setdatabase <> 0 AS db, s.setconfig AS config
       FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole
      WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))`,
  );
  const roles = await c.query<{ name: string; member_of: string[] }>(
    `SELECT r.rolname::text AS name,
            COALESCE(array_agg(g.rolname::text ORDER BY g.rolname) FILTER (WHERE g.rolname IS NOT NULL), '{}'::text[]) AS member_of
       FROM pg_roles r
       LEFT JOIN pg_auth_members m ON m.member = r.oid
       LEFT JOIN pg_roles g ON g.oid = m.roleid
      WHERE r.rolname !~ '^pg_'
      GROUP BY r.rolname ORDER BY r.rolname`,
  );
  const roleWide = new Map<string, string[]>();
  const roleSettings: DatabaseProperties['roleSettings'] = [];
  let dbSettings: string[] = [];
  for (const s of settings.rows) {
    if (s.role === null && s.db) dbSettings = s.config;
    else if (s.role !== null && s.db) roleSettings.push({ role: s.role, settings: s.config });
    else if (s.role !== null) roleWide.set(s.role, s.config);
  }
  return {
    version: 1,
    database: db.database,
    owner: db.owner,
    acl: db.acl,
    comment: db.comment,
    settings: dbSettings,
    roleSettings,
    roles: roles.rows.map((r) => ({ name: r.name, memberOf: r.member_of, settings: roleWide.get(r.name) ?? [] })),
  };
}
