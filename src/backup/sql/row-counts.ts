/**
 * SQL prodguard runs against the database being backed up — kept here so a DBA can read it in
 * one place. All of it is read-only.
 */

/** Starts the transaction whose snapshot pg_dump and the row counts share. */
export const BEGIN_SNAPSHOT_SQL = 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY';

/** Exports the snapshot so `pg_dump --snapshot=<id>` sees exactly what our counts see. */
export const EXPORT_SNAPSHOT_SQL = 'SELECT pg_export_snapshot() AS snapshot';

/** Server facts recorded in the manifest. On a standby the LSN is the last replayed one. */
export const SERVER_FACTS_SQL = `
SELECT current_setting('server_version') AS server_version,
       current_database() AS database,
       CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text
            ELSE pg_current_wal_lsn()::text END AS lsn`;

/**
 * Every table whose rows pg_dump writes: ordinary and unlogged tables in user schemas (partitions
 * are counted leaf by leaf, partitioned parents hold no rows of their own). System schemas are
 * left out; so are tables that belong to an extension (pg_dump dumps their definition via
 * CREATE EXTENSION, not their rows — except configuration tables, which are rare).
 */
export const LIST_TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS table
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\\_toast%'
   AND n.nspname NOT LIKE 'pg\\_temp\\_%'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY 1, 2`;

/** Exact count of one table (identifiers quoted by the caller). */
export function countTableSql(quotedSchema: string, quotedTable: string): string {
  // ONLY: a table's own rows, as its COPY in the dump holds them (an inheritance parent's count
  // must not include its children's rows: red team ag-093).
  return `SELECT count(*)::bigint AS n FROM ONLY ${quotedSchema}.${quotedTable}`;
}
