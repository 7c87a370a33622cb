/**
 * Masking expressions for staging refresh. Deterministic: the same original value gives the same
 * masked value on every refresh (joins on masked columns keep working), keyed by a per-project
 * random salt kept in the state store so the masked values cannot be reversed from a dictionary.
 * NULL stays NULL. `$1` is the salt.
 */
export type MaskStrategy = 'email' | 'name' | 'phone' | 'hash' | 'null' | 'text';

export function maskExpression(strategy: MaskStrategy, col: string): string {
  const h = `md5($1::text || ${col}::text)`;
  switch (strategy) {
    case 'email':
      return `CASE WHEN ${col} IS NULL THEN NULL ELSE 'user_' || substr(${h}, 1, 16) || '@example.invalid' END`;
    case 'name':
      return `CASE WHEN ${col} IS NULL THEN NULL ELSE 'Person ' || upper(substr(${h}, 1, 8)) END`;
    case 'phone':
      return `CASE WHEN ${col} IS NULL THEN NULL ELSE '+1555' || lpad(((('x' || substr(${h}, 1, 8))::bit(32)::bigint % 10000000))::text, 7, '0') END`;
    case 'hash':
      return `CASE WHEN ${col} IS NULL THEN NULL ELSE ${h} END`;
    case 'null':
      return 'NULL';
    case 'text':
      return `CASE WHEN ${col} IS NULL THEN NULL ELSE 'masked-' || substr(${h}, 1, 12) END`;
  }
}

/** User schemas a refresh replaces (system and extension-owned schemas stay). */
export const USER_SCHEMAS_SQL = `
SELECT n.nspname AS name
  FROM pg_namespace n
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
   AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
 ORDER BY 1`;
