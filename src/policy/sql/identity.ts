/**
 * The environment identity prodguard keeps inside each enrolled database: one row, with a random
 * id chosen at enrolment. Together with the server's system_identifier (fixed at initdb, the
 * same on a physical replica, different on any other server) and the database name, it says which
 * database a connection really reached, whatever host spelling, alias or tunnel led there.
 */
export const CREATE_IDENTITY_SQL = `
CREATE SCHEMA IF NOT EXISTS prodguard;
CREATE TABLE IF NOT EXISTS prodguard.environment_identity (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  id text NOT NULL,
  environment text NOT NULL,
  kind text NOT NULL,
  enrolled_at timestamptz NOT NULL DEFAULT now(),
  enrolled_by text NOT NULL
);`;

/** Writes (or re-stamps, after a staging refresh copied production's row) the identity row. */
export const UPSERT_IDENTITY_SQL = `
INSERT INTO prodguard.environment_identity (only_row, id, environment, kind, enrolled_by) VALUES (true, $1, $2, $3, $4)
ON CONFLICT (only_row) DO UPDATE SET id = excluded.id, environment = excluded.environment, kind = excluded.kind,
  enrolled_at = now(), enrolled_by = excluded.enrolled_by`;

export const READ_IDENTITY_SQL = `
SELECT id, environment, kind FROM prodguard.environment_identity WHERE to_regclass('prodguard.environment_identity') IS NOT NULL`;

export const IDENTITY_TABLE_EXISTS_SQL = `SELECT to_regclass('prodguard.environment_identity') IS NOT NULL AS exists`;

/** pg_control_system() needs superuser or pg_monitor; callers fall back when it is refused. */
export const SYSTEM_IDENTIFIER_SQL = `SELECT system_identifier::text AS system_identifier FROM pg_control_system()`;

export const DATABASE_NAME_SQL = `SELECT current_database() AS database`;
