/** Row counts after a restore against the backup manifest's: every table, exact. */
import { withClient, quoteIdent } from '../pg/client.js';
import { LIST_TABLES_SQL, countTableSql } from '../backup/sql/row-counts.js';

export interface CountMismatch {
  table: string;
  expected: number;
  actual: number | null;
}

export function compareRowCounts(expected: Record<string, number>, actual: Record<string, number>): CountMismatch[] {
  const out: CountMismatch[] = [];
  for (const [table, n] of Object.entries(expected)) {
    const a = actual[table];
    if (a !== n) out.push({ table, expected: n, actual: a ?? null });
  }
  return out;
}

/**
 * Exact row counts like the backup layer's countRows, but over `jobs` connections at once (largest
 * tables first), so verification after a parallel restore does not become the slow part.
 */
export async function countRowsParallel(url: string, jobs: number): Promise<Record<string, number>> {
  const tables = await withClient(url, async (c) => {
    const list = (await c.query<{ schema: string; table: string }>(LIST_TABLES_SQL)).rows;
    const sizes = new Map((await c.query<{ k: string; b: string }>(`SELECT n.nspname || '.' || c.relname AS k, pg_relation_size(c.oid)::text AS b FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'`)).rows.map((r) => [r.k, Number(r.b)]));
    return list.sort((a, b) => (sizes.get(`${b.schema}.${b.table}`) ?? 0) - (sizes.get(`${a.schema}.${a.table}`) ?? 0));
  });
  const counts: Record<string, number> = {};
  let next = 0;
  const worker = () =>
    withClient(url, async (c) => {
      for (let i = next++; i < tables.length; i = next++) {
        const t = tables[i];
        const r = await c.query<{ n: string }>(countTableSql(quoteIdent(t.schema), quoteIdent(t.table)));
        counts[`${t.schema}.${t.table}`] = Number(r.rows[0].n);
      }
    });
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, tables.length)) }, worker));
  return Object.fromEntries(Object.keys(counts).sort().map((k) => [k, counts[k]]));
}

/**
 * Row counts after a streamed directory restore: `copied` holds the row count the server
 * reported for each table's COPY (exact, and no second scan of what was just loaded — count(*)
 * over freshly loaded tables reads every page again and dirties it to set hint bits); every table
 * of the restored database that no COPY filled is counted exactly with count(*).
 */
export async function completeRowCounts(url: string, copied: Record<string, number>, jobs: number): Promise<Record<string, number>> {
  const tables = await withClient(url, async (c) => (await c.query<{ schema: string; table: string }>(LIST_TABLES_SQL)).rows);
  const counts: Record<string, number> = {};
  const exact = tables.filter((t) => {
    const k = `${t.schema}.${t.table}`;
    if (k in copied) counts[k] = copied[k];
    return !(k in copied);
  });
  let next = 0;
  const worker = () =>
    withClient(url, async (c) => {
      for (let i = next++; i < exact.length; i = next++) {
        const t = exact[i];
        const r = await c.query<{ n: string }>(countTableSql(quoteIdent(t.schema), quoteIdent(t.table)));
        counts[`${t.schema}.${t.table}`] = Number(r.rows[0].n);
      }
    });
  if (exact.length) await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, exact.length)) }, worker));
  return Object.fromEntries(Object.keys(counts).sort().map((k) => [k, counts[k]]));
}
