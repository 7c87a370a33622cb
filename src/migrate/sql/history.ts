/** SQL of the migration history tables (Supabase-compatible and prodguard's own). */

/** What the Supabase CLI creates (columns it adds later are read from the catalog before inserting). */
export const CREATE_SUPABASE_HISTORY_SQL = `
CREATE SCHEMA IF NOT EXISTS supabase_migrations;
CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (
  version text NOT NULL PRIMARY KEY,
  statements text[],
  name text
)`;

export const TABLE_EXISTS_SQL = `SELECT to_regclass($1) IS NOT NULL AS exists`;

export const TABLE_COLUMNS_SQL = `
SELECT a.attname AS name
  FROM pg_attribute a
 WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum`;

export function createProdguardHistorySql(schema: string, table: string): string {
  return `
CREATE SCHEMA IF NOT EXISTS ${schema};
CREATE TABLE IF NOT EXISTS ${schema}.${table} (
  version text NOT NULL PRIMARY KEY,
  name text NOT NULL,
  sha256 text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  applied_by text NOT NULL,
  change_hash text NOT NULL
)`;
}
