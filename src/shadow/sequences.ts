/**
 * Sequences are not carried by logical replication: the shadow's sequences stay where the schema
 * copy left them. Two remedies:
 *
 * - `syncSequences` (shadow enable, `shadow sync-sequences`, serve's schedule): copies production's
 *   last_value of every sequence of the schemas to the shadow (pg_sequences needs USAGE or SELECT on
 *   the sequence, which the owning role has);
 * - `advanceSequencesPastMax` (shadow restore, on the recovered copy): sets every sequence a column
 *   uses (serial, identity or a nextval() default) past the column's maximum — the data is the
 *   truth, whatever value the last sync left — so the restored database never hands out an id
 *   that already exists.
 */
import { withClient, type Client } from '../pg/client.js';

export interface SequenceValue {
  sequence: string;
  value: string;
}

export async function syncSequences(prodUrl: string, shadowUrl: string, schemas: string[]): Promise<SequenceValue[]> {
  const values = await withClient(prodUrl, async (c) =>
    (await c.query<{ s: string; v: string }>(`SELECT format('%I.%I', schemaname, sequencename) AS s, last_value::text AS v FROM pg_sequences WHERE schemaname = ANY($1) AND last_value IS NOT NULL ORDER BY 1`, [schemas])).rows,
  );
  await withClient(shadowUrl, async (c) => {
    for (const { s, v } of values) {
      const exists = (await c.query(`SELECT to_regclass($1) IS NOT NULL AS e`, [s])).rows[0].e;
      if (exists) await c.query('SELECT setval($1::regclass, $2::bigint, true)', [s, v]);
    }
  });
  return values.map((x) => ({ sequence: x.s, value: x.v }));
}

/** Every (sequence, table, column) a column's values come from, in the schemas. */
async function sequenceColumns(c: Client, schemas: string[]) {
  return (await c.query<{ seq: string; tbl: string; col: string }>(
    `SELECT DISTINCT format('%I.%I', sn.nspname, s.relname) AS seq, format('%I.%I', tn.nspname, t.relname) AS tbl, quote_ident(a.attname) AS col
       FROM (
         -- serial / identity: the sequence depends on the column
         SELECT d.objid AS seqid, d.refobjid AS relid, d.refobjsubid AS attnum FROM pg_depend d
          WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
         UNION
         -- a nextval('…') default on a sequence the column does not own
         SELECT d.refobjid, ad.adrelid, ad.adnum FROM pg_attrdef ad
           JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid AND d.refclassid = 'pg_class'::regclass
       ) x
       JOIN pg_class s ON s.oid = x.seqid AND s.relkind = 'S' JOIN pg_namespace sn ON sn.oid = s.relnamespace
       JOIN pg_class t ON t.oid = x.relid AND t.relkind IN ('r', 'p') JOIN pg_namespace tn ON tn.oid = t.relnamespace
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.attnum
      WHERE tn.nspname = ANY($1)
        AND format_type(a.atttypid, NULL) IN ('smallint', 'integer', 'bigint', 'numeric')
      ORDER BY 1, 2, 3`,
    [schemas],
  )).rows;
}

export async function advanceSequencesPastMax(url: string, schemas: string[]): Promise<SequenceValue[]> {
  return withClient(url, async (c) => {
    const want = new Map<string, bigint>();
    for (const { seq, tbl, col } of await sequenceColumns(c, schemas)) {
      const max = (await c.query<{ m: string | null }>(`SELECT max(${col})::text AS m FROM ${tbl}`)).rows[0].m;
      if (max === null) continue;
      const m = BigInt(max.split('.')[0]);
      if (!want.has(seq) || want.get(seq)! < m) want.set(seq, m);
    }
    const out: SequenceValue[] = [];
    for (const [seq, max] of want) {
      // Never move a sequence backwards: a value handed out and then deleted must not come back.
      const r = await c.query<{ v: string }>(
        `SELECT setval($1::regclass, greatest($2::bigint, coalesce(pg_sequence_last_value($1::regclass), 0)), true)::text AS v`,
        [seq, max.toString()],
      );
      out.push({ sequence: seq, value: r.rows[0].v });
    }
    return out;
  });
}
