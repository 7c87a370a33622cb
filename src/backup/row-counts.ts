/** Exact per-table row counts, keyed 'schema.table' — the manifest's proof of what a dump holds. */
import type pg from 'pg';
import { withClient, quoteIdent } from '../pg/client.js';
import { LIST_TABLES_SQL, countTableSql } from './sql/row-counts.js';

/** Counts with an already-open client (e.g. inside the snapshot transaction). */
export async function countRowsWith(client: pg.Client): Promise<Record<string, number>> {
  const tables = (await client.query<{ schema: string; table: string }>(LIST_TABLES_SQL)).rows;
  const counts: Record<string, number> = {};
  for (const t of tables) {
    const r = await client.query<{ n: string }>(countTableSql(quoteIdent(t.schema), quoteIdent(t.table)));
    counts[`${t.schema}.${t.table}`] = Number(r.rows[0].n);
  }
  return counts;
}

export async function countRows(url: string): Promise<Record<string, number>> {
  return withClient(url, (c) => countRowsWith(c));
}

/** Differences between expected and actual counts, one line each. */
export function compareRowCounts(expected: Record<string, number>, actual: Record<string, number>): string[] {
  const problems: string[] = [];
  for (const [t, n] of Object.entries(expected)) {
    if (!(t in actual)) problems.push(`table ${t}: missing after restore (expected ${n} rows)`);
    else if (actual[t] !== n) problems.push(`table ${t}: ${actual[t]} rows after restore, manifest says ${n}`);
  }
  for (const t of Object.keys(actual)) if (!(t in expected)) problems.push(`table ${t}: present after restore but not in the manifest`);
  return problems;
}
