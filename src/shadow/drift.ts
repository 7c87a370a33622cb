/**
 * Schema drift between production and its shadow. Logical replication carries rows, not DDL: a
 * column added on production and not on the shadow stops replication of that table (the apply
 * worker fails on every change), a column added on the shadow only is silently left NULL. The two
 * schemas are compared by the same normalised catalog snapshot `migrate drift` uses, restricted
 * to the replicated schemas.
 */
import { withClient } from '../pg/client.js';
import { describeDifference, diffSnapshots, schemaSnapshot } from '../migrate/snapshot.js';

/** Every schema of the database except the given ones: the snapshot's exclusion list. */
async function otherSchemas(url: string, keep: string[]): Promise<string[]> {
  return withClient(url, async (c) => (await c.query<{ n: string }>('SELECT nspname AS n FROM pg_namespace WHERE NOT (nspname = ANY($1))', [keep])).rows.map((r) => r.n));
}

export async function schemaFingerprints(prodUrl: string, shadowUrl: string, schemas: string[]): Promise<{ production: string; shadow: string; differences: string[] }> {
  const [p, s] = await Promise.all([
    otherSchemas(prodUrl, schemas).then((ex) => schemaSnapshot(prodUrl, ex)),
    otherSchemas(shadowUrl, schemas).then((ex) => schemaSnapshot(shadowUrl, ex)),
  ]);
  const differences = diffSnapshots(p, s).map((d) => describeDifference(d, { expected: 'production', actual: 'the shadow' }));
  return { production: p.fingerprint, shadow: s.fingerprint, differences };
}
