/**
 * Applies config.staging.masking to the private copy of production during a staging refresh.
 * Runs in the caller's transaction with `session_replication_role = replica`: no user trigger
 * fires (an audit trigger would otherwise copy every original value into its table, a webhook
 * trigger would call out), and foreign-key checks are off so a masked key and every column
 * referencing it can be rewritten one after the other — with the same deterministic function,
 * so the references still match afterwards.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Context } from '../context.js';
import { quoteIdent } from '../pg/client.js';
import { RefusedError } from '../errors.js';
import { MATVIEWS_SQL, REFERENCING_COLUMNS_SQL, maskExpression, type MaskStrategy } from './sql/masking.js';

const SALT_KEY = 'staging.masking-salt';

/** The salt lives in the state store (the team store when `state.store: postgres`), so every refresh masks alike. */
export async function maskingSalt(ctx: Context): Promise<string> {
  const store = await ctx.store();
  let salt = await store.getMeta(SALT_KEY);
  if (!salt) {
    salt = randomBytes(16).toString('hex');
    await store.setMeta(SALT_KEY, salt);
  }
  return salt;
}

export interface MaskRule {
  table: string;
  column: string;
  strategy: MaskStrategy;
  reason?: string;
}

export interface ColumnRef {
  schema: string;
  table: string;
  column: string;
}

export const splitTable = (t: string): [string, string] => (t.includes('.') ? (t.split('.', 2) as [string, string]) : ['public', t]);
export const colKey = (c: ColumnRef) => `${c.schema}.${c.table}.${c.column}`;

/**
 * The rules plus, for every masked column, the columns that reference it by a foreign key (and
 * those referencing them), masked with the same strategy unless they have a rule of their own.
 */
export async function expandRules(c: pg.Client, rules: MaskRule[]): Promise<Array<ColumnRef & { strategy: MaskStrategy; via?: string }>> {
  const out = new Map<string, ColumnRef & { strategy: MaskStrategy; via?: string }>();
  for (const r of rules) {
    const [schema, table] = splitTable(r.table);
    const ref = { schema, table, column: r.column, strategy: r.strategy };
    out.set(colKey(ref), ref);
  }
  const queue = [...out.values()].filter((r) => r.strategy !== 'keep');
  while (queue.length) {
    const r = queue.shift()!;
    const refs = (await c.query<ColumnRef>(REFERENCING_COLUMNS_SQL, [r.schema, r.table, r.column])).rows;
    for (const ref of refs) {
      if (out.has(colKey(ref))) continue;
      const e = { ...ref, strategy: r.strategy, via: colKey(r) };
      out.set(colKey(ref), e);
      queue.push(e);
    }
  }
  return [...out.values()];
}

/** Masks in the caller's transaction; a missing table or column throws (the caller fails closed). */
export async function applyMasking(c: pg.Client, rules: MaskRule[], salt: string): Promise<number> {
  if (!rules.length) throw new RefusedError('staging.masking is empty: a refresh would copy production as it is (add rules, or `strategy: keep` with a reason per column)', 'staging.no-masking');
  await c.query(`SET LOCAL session_replication_role = replica`);
  const all = await expandRules(c, rules);
  let rows = 0;
  for (const r of all) {
    if (r.strategy === 'keep') continue;
    const t = `${quoteIdent(r.schema)}.${quoteIdent(r.table)}`;
    const col = quoteIdent(r.column);
    if (r.strategy === 'null') {
      // A large object outlives its oid being nulled: unlink it (it holds the document itself).
      const typ = (await c.query(`SELECT format_type(atttypid, NULL) AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2`, [t, r.column])).rows[0]?.t;
      if (typ === 'oid' || typ === 'lo') {
        await c.query(`SELECT lo_unlink(o) FROM (SELECT DISTINCT ${col}::oid AS o FROM ${t} WHERE ${col} IS NOT NULL) s WHERE EXISTS (SELECT 1 FROM pg_largeobject_metadata m WHERE m.oid = s.o)`);
      }
    }
    const res = await c.query(`UPDATE ${t} SET ${col} = ${maskExpression(r.strategy, col)} WHERE ${col} IS NOT NULL`, r.strategy === 'null' || r.strategy === 'scrub' ? [] : [salt]);
    rows += res.rowCount ?? 0;
  }
  // Materialized views were filled from the unmasked tables by the restore: rebuild them now.
  for (const v of (await c.query<{ schema: string; name: string }>(MATVIEWS_SQL)).rows) {
    await c.query(`REFRESH MATERIALIZED VIEW ${quoteIdent(v.schema)}.${quoteIdent(v.name)}`);
  }
  return rows;
}
