/**
 * The environment of the PostgreSQL tools prodguard runs (pg_dump, pg_restore, pg_receivewal, …).
 *
 * prodguard checks a target with node-postgres (server identity, "is this production?") and then
 * hands the same connection string to a libpq tool. libpq reads variables node-postgres does not:
 * PGHOSTADDR overrides the address of the host the URL names, PGSERVICE / PGSERVICEFILE /
 * PGSYSCONFDIR pull in a service definition, PGTARGETSESSIONATTRS / PGLOADBALANCEHOSTS pick among
 * hosts. With PGHOSTADDR set, the identity check read one server and pg_restore wrote 21 tables
 * onto production's (red team w5d-168/169). These are removed, so the tool connects exactly where
 * the checked string says; PGOPTIONS too, so no session setting (triggers off, another role)
 * rides along unseen. Values the caller passes explicitly are kept.
 */
const LIBPQ_ONLY = ['PGHOSTADDR', 'PGSERVICE', 'PGSERVICEFILE', 'PGSYSCONFDIR', 'PGTARGETSESSIONATTRS', 'PGLOADBALANCEHOSTS', 'PGOPTIONS'];

export function toolEnv(extra: Record<string, string | undefined> = {}, base: Record<string, string | undefined> = process.env): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = { ...base };
  for (const k of LIBPQ_ONLY) delete env[k];
  return { ...env, ...extra } as NodeJS.ProcessEnv;
}
