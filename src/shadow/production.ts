/**
 * What `shadow enable` needs from production, checked before anything is created — and nothing
 * more than hosted Supabase gives its `postgres` role:
 *
 * - wal_level = logical (the platform's setting; prodguard never changes it on production);
 * - the REPLICATION attribute, for the subscription's walsender connection and its logical slot;
 * - CREATE on the database, to create the publication;
 * - ownership of each published table (PostgreSQL 15 lets only a superuser publish FOR ALL TABLES,
 *   so the publication lists tables; adding a table to a publication needs its ownership).
 *
 * Not used: superuser, pg_hba.conf, archive_command, ALTER SYSTEM, a physical slot.
 *
 * A table that publishes UPDATE/DELETE must have a replica identity, or PostgreSQL refuses those
 * statements ON PRODUCTION. Such tables (no primary key, REPLICA IDENTITY NOTHING) and unlogged
 * tables are left out and reported as not covered, so enabling the shadow never breaks a write.
 */
import type { Client } from '../pg/client.js';
import { RefusedError } from '../errors.js';

export interface PublishableTables {
  tables: string[];
  notCovered: Array<{ table: string; reason: string }>;
}

export interface ProductionFacts {
  role: string;
  superuser: boolean;
  replication: boolean;
  canCreate: boolean;
  walLevel: string;
}

export async function productionFacts(c: Client): Promise<ProductionFacts> {
  const r = await c.query<{ role: string; su: boolean; repl: boolean; cr: boolean; wl: string }>(
    `SELECT current_user AS role, r.rolsuper AS su, r.rolreplication AS repl,
            has_database_privilege(current_database(), 'CREATE') AS cr, current_setting('wal_level') AS wl
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  const x = r.rows[0];
  return { role: x.role, superuser: x.su, replication: x.repl, canCreate: x.cr, walLevel: x.wl };
}

export function assertProductionPrivileges(f: ProductionFacts, envName: string): void {
  if (f.walLevel !== 'logical') throw new RefusedError(`${envName} has wal_level=${f.walLevel}; a shadow needs logical replication (wal_level=logical, as on hosted Supabase)`, 'shadow.wal-level');
  if (!f.replication && !f.superuser) throw new RefusedError(`role "${f.role}" on ${envName} lacks the REPLICATION attribute the subscription's connection needs (hosted Supabase's postgres role has it)`, 'shadow.no-replication');
  if (!f.canCreate && !f.superuser) throw new RefusedError(`role "${f.role}" cannot CREATE in ${envName}'s database, which creating the publication needs`, 'shadow.no-create');
}

const IDENT_MISSING = 'no replica identity (no primary key and REPLICA IDENTITY DEFAULT/NOTHING): publishing it would make UPDATE/DELETE fail on production; add a primary key or ALTER TABLE … REPLICA IDENTITY FULL, then run shadow enable again';

/** User tables of the schemas, split into publishable and not covered (with the reason). */
export async function publishableTables(c: Client, schemas: string[]): Promise<PublishableTables> {
  const r = await c.query<{ t: string; owned: boolean; ident: string; pk: boolean; persistence: string; owner: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS t, pg_has_role(c.relowner, 'USAGE') AS owned,
            c.relreplident AS ident, c.relpersistence AS persistence, pg_get_userbyid(c.relowner) AS owner,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS pk
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1) AND c.relkind = 'r'
      ORDER BY 1`,
    [schemas],
  );
  const out: PublishableTables = { tables: [], notCovered: [] };
  for (const row of r.rows) {
    if (row.persistence !== 'p') out.notCovered.push({ table: row.t, reason: 'unlogged or temporary table (never replicated)' });
    else if (!row.owned) out.notCovered.push({ table: row.t, reason: `owned by ${row.owner}, not by the connecting role (only an owner may publish it)` });
    else if (row.ident === 'n' || (row.ident === 'd' && !row.pk)) out.notCovered.push({ table: row.t, reason: IDENT_MISSING });
    else out.tables.push(row.t);
  }
  return out;
}

/** Large objects are not carried by logical replication: counted so status can say so. */
export async function largeObjectCount(c: Client): Promise<number> {
  return Number((await c.query<{ n: string }>('SELECT count(*)::text AS n FROM pg_largeobject_metadata')).rows[0].n);
}
