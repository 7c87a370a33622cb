/**
 * A schema dump of production's schemas replayed into a database that already has those schemas
 * (a Supabase project's `public`, the shadow's): the schema itself, its comment, its grants and the
 * default privileges belong to the target's platform, not to the data, and a non-superuser target
 * role may not set them (ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin …). Those lines go; every
 * object inside the schemas, with its grants and policies, stays.
 */
export function forExistingSchemas(sql: string): string {
  return sql
    .split('\n')
    .filter((l) => !/^(COMMENT ON SCHEMA|GRANT [^;]* ON SCHEMA|REVOKE [^;]* ON SCHEMA|ALTER SCHEMA \S+ OWNER TO|ALTER DEFAULT PRIVILEGES )/.test(l))
    .map((l) => l.replace(/^CREATE SCHEMA (\S+);$/, 'CREATE SCHEMA IF NOT EXISTS $1;'))
    .join('\n');
}
