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
};

/** Why `relation` (as written: `name`, `schema.name`) must not be read, or null. */
export function secretRelation(relation: string): string | null {
  const parts = relation.toLowerCase().split('.');
  const name = parts[parts.length - 1];
  const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
  if (schema !== undefined && schema !== 'pg_catalog') return null;
  const what = SECRET[name];
  return what ? `reads ${relation}, which holds ${what}` : null;
}
