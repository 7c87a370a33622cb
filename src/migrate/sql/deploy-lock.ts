/**
 * SQL of the migration lock: one session-level advisory lock per database (advisory locks are
 * scoped to the current database, so each environment's database has its own). A bigint key is
 * shown in pg_locks as classid (high 32 bits) and objid (low 32 bits) with objsubid 1.
 */
export const TRY_LOCK_SQL = `SELECT pg_try_advisory_lock($1::bigint) AS ok`;
export const LOCK_SQL = `SELECT pg_advisory_lock($1::bigint)`;
export const UNLOCK_SQL = `SELECT pg_advisory_unlock($1::bigint)`;

export const LOCK_HOLDER_SQL = `
SELECT a.pid, a.application_name, a.client_addr::text AS client_addr, a.backend_start::text AS since
  FROM pg_locks l
  JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND l.classid = $1::oid AND l.objid = $2::oid AND l.objsubid = 1
 LIMIT 1`;

/** Whether this session still holds the lock (its connection may have been cut during a long backup). */
export const HOLDS_LOCK_SQL = `
SELECT count(*)::int AS n
  FROM pg_locks
 WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
   AND classid = $1::oid AND objid = $2::oid AND objsubid = 1`;
