/**
 * Smoke tests from config (drills.smokeTests): read-only queries returning one value, checked
 * against `expect` (equality as text) or `min` (numeric lower bound); without either the query
 * must return a row. Each runs in its own READ ONLY transaction so a test can never change data.
 */
import type { SmokeTest } from '../config/schema.js';
import { withClient } from '../pg/client.js';
import { errorMessage } from '../errors.js';
import type { SmokeResult } from './drill-record.js';

export async function runSmokeTests(url: string, tests: SmokeTest[]): Promise<SmokeResult[]> {
  if (tests.length === 0) return [];
  return withClient(url, async (c) => {
    const out: SmokeResult[] = [];
    for (const t of tests) {
      const expected = t.expect !== undefined ? `= ${String(t.expect)}` : t.min !== undefined ? `≥ ${t.min}` : 'at least one row';
      try {
        await c.query('BEGIN READ ONLY');
        const r = await c.query({ text: t.sql, rowMode: 'array' });
        await c.query('ROLLBACK');
        const first = r.rows[0] as unknown[] | undefined;
        const value = first && first.length ? (first[0] === null ? null : String(first[0])) : null;
        let ok: boolean;
        if (t.expect !== undefined) ok = value !== null && value === String(t.expect);
        else if (t.min !== undefined) ok = value !== null && Number(value) >= t.min;
        else ok = r.rows.length > 0;
        out.push({ name: t.name, ok, value, expected });
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        out.push({ name: t.name, ok: false, value: null, expected, error: errorMessage(err) });
      }
    }
    return out;
  });
}
