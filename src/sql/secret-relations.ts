/**
 * Catalog tables and views that hold credentials or the server's private configuration. Reading
 * them is a read, but not one the gateway or `prodguard mcp` may pass on: a session that runs as a
 * superuser upstream (a shadow's subscription owner, a Supabase `postgres` URL given to `mcp`)
 * would hand out every role's password verifier or production's connection string with its
 * password (red team ag-000/ag-001: `pg_subscription.subconninfo` on a shadow). The class is
 * `privilege`: it is refused through the read-only path whatever role runs it.
 */
const SECRET: Record<string, string> = {
  pg_authid: 'password verifiers of every role',
  pg_shadow: 'password verifiers of every role',
  pg_user_mapping: 'foreign-server credentials (user mappings)',
  pg_user_mappings: 'foreign-server credentials (user mappings)',
  pg_subscription: 'the publisher connection strings (with passwords) of logical-replication subscriptions',
  pg_hba_file_rules: 'the server’s pg_hba.conf',
  pg_ident_file_mappings: 'the server’s pg_ident.conf',
  pg_file_settings: 'the server’s configuration files',
  // After an ANALYZE of a catalog above its statistics hold sample values of its columns, password
  // verifiers included (red team w5d: pg_statistic of pg_authid.rolpassword). Superuser-only.
  pg_statistic: 'sample values of every analyzed column, password verifiers included',
  pg_statistic_ext_data: 'sample values of every analyzed column, password verifiers included',
};

/** The same, in any schema (information_schema's views over user mappings; reached by search_path too). */
const SECRET_ANY_SCHEMA: Record<string, string> = {
  _pg_user_mappings: 'foreign-server credentials (user mappings)',
  user_mapping_options: 'foreign-server credentials (user mappings)',
};

/** Why `relation` (as written: `name`, `schema.name`) must not be read, or null. */
export function secretRelation(relation: string): string | null {
  const parts = relation.toLowerCase().split('.');
  const name = parts[parts.length - 1];
  const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
  const anywhere = SECRET_ANY_SCHEMA[name];
  if (anywhere) return `reads ${relation}, which holds ${anywhere}`;
  if (schema !== undefined && schema !== 'pg_catalog') return null;
  const what = SECRET[name];
  return what ? `reads ${relation}, which holds ${what}` : null;
}

/**
 * Built-ins that read whatever table an argument names: a refused catalog by another spelling
 * (`table_to_xml('pg_authid', …)`, `table_to_xml(1260, …)`: red team w5d). Refused whatever the
 * argument, as no constant can be trusted to name the table it reads (search_path, OIDs, casts).
 */
const READS_NAMED_TABLE = new Set(['table_to_xml', 'table_to_xml_and_xmlschema']);

/** Why calling the built-in `name` reads credentials, or null. */
export function secretFunction(schema: string | undefined, name: string): string | null {
  if (schema !== undefined && schema !== 'pg_catalog') return null;
  return READS_NAMED_TABLE.has(name.toLowerCase()) ? `${name}() reads the table its argument names, catalogs holding credentials included` : null;
}
