/**
 * Smoke tests from config (drills.smokeTests) and post-deploy health checks
 * (migrations.healthChecks): read-only queries returning one value, checked against `expect`
 * (equality as text) or `min` (numeric lower bound); without either the query must return a row.
 *
 * The config that holds them is not signed, yet `migrate verify` runs them on production with the
 * deployer's rights, so a READ ONLY transaction alone is no wall: `select 1; commit; drop table t`
 * ends it (red team ap-029/ap-064). Hence three walls, checked before anything is sent:
 *   1. exactly one statement, proved `read` by the SQL engine (src/sql) — else refused, naming the check;
 *   2. sent with the extended protocol, which the server refuses for more than one statement;
 *   3. inside BEGIN READ ONLY with default_transaction_read_only on (session and SET LOCAL).
 */
import type pg from 'pg';
import type { SmokeTest } from '../config/schema.js';
import { withClient } from '../pg/client.js';
import { errorMessage, RefusedError } from '../errors.js';
import { classifyParsed, newClassifyContext } from '../sql/classify.js';
import { loadSqlParser, parseStatements } from '../sql/parser.js';
import type { SmokeResult } from './drill-record.js';

/**
 * Refuses a check that is not exactly one statement the SQL engine proves read-only; returns the
 * statement's text. `what` names the list in the message, e.g. "health check".
 */
export async function requireReadOnlyCheck(t: SmokeTest, what: string): Promise<string> {
  await loadSqlParser();
  const refuse = (why: string) => new RefusedError(`${what} "${t.name}" refused: ${why}; it must be one read-only statement`, 'smoke.refused');
  let stmts: ReturnType<typeof parseStatements>;
  try {
    stmts = parseStatements(t.sql);
  } catch (err) {
    throw refuse(`its SQL does not parse (${errorMessage(err).split('\n')[0]})`);
  }
  if (stmts.length !== 1) throw refuse(`it has ${stmts.length} statements`);
  const c = classifyParsed(stmts[0], newClassifyContext(), { remember: false });
  if (c.class !== 'read') throw refuse(`the SQL engine does not prove it read-only (${c.class}: ${c.reason.split('\n')[0]})`);
  return stmts[0].text;
}

/** Checks every test (see requireReadOnlyCheck) without connecting; throws on the first refused one. */
export async function requireReadOnlyChecks(tests: SmokeTest[], what: string): Promise<string[]> {
  const out: string[] = [];
  for (const t of tests) out.push(await requireReadOnlyCheck(t, what));
  return out;
}

export async function runSmokeTests(url: string, tests: SmokeTest[], what = 'smoke test'): Promise<SmokeResult[]> {
  if (tests.length === 0) return [];
  // Every check is judged before the first connection: a refused one runs nothing at all.
  const texts = await requireReadOnlyChecks(tests, what);
  return withClient(url, async (c) => {
    await c.query('SET default_transaction_read_only = on');
    const out: SmokeResult[] = [];
    for (const [i, t] of tests.entries()) {
      const expected = t.expect !== undefined ? `= ${String(t.expect)}` : t.min !== undefined ? `≥ ${t.min}` : 'at least one row';
      try {
        await c.query('BEGIN READ ONLY');
        await c.query('SET LOCAL default_transaction_read_only = on');
        // queryMode 'extended': Parse/Bind/Execute, which carries exactly one statement.
        const r = await c.query({ text: texts[i], rowMode: 'array', queryMode: 'extended' } as pg.QueryArrayConfig);
        await c.query('ROLLBACK');
        const first = r.rows[0] as unknown[] | undefined;
        const value = first && first.length ? (first[0] === null ? null : String(first[0])) : null;
        let ok: boolean;
        if (t.expect !== undefined) ok = value !== null && value === String(t.expect);
        else if (t.min !== undefined) ok = value !== null && Number(value) >= t.min;
        else ok = r.rows.length > 0;
        out.push({ name: t.name, ok, value, expected, rows: r.rows.length });
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        out.push({ name: t.name, ok: false, value: null, expected, error: errorMessage(err), sqlstate: (err as { code?: string }).code });
      }
    }
    return out;
  });
}
