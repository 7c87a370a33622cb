/**
 * What a health check's result may say outside production (red team w5c-081). The checks come
 * from prodguard.yaml (unsigned): `select string_agg(name||':'||email, ',') from customers` with
 * an expectation it cannot meet would otherwise print production's rows into the CI log, the
 * command's --json and the team store's append-only audit log. So a result says only its name, the
 * number of rows, and how it failed the expectation — never the value, never an error's text
 * (PostgreSQL quotes the offending value in many messages: "invalid input syntax … \"alice@…\"").
 */
import type { SmokeResult } from '../restore/drill-record.js';

export interface HealthReport {
  name: string;
  ok: boolean;
  rows: number;
  expected: string;
  /** How it failed, without the value (absent when ok). */
  failure?: string;
}

function failure(r: SmokeResult): string {
  if (r.error !== undefined) return `the query failed${r.sqlstate ? ` (SQLSTATE ${r.sqlstate})` : ''}`;
  if (!r.rows) return 'no row';
  if (r.value === null) return 'the value is NULL';
  if (r.expected.startsWith('≥')) return Number.isNaN(Number(r.value)) ? 'the value is not a number' : 'the value is below the minimum';
  return 'the value differs from the expected one';
}

export function healthReport(r: SmokeResult): HealthReport {
  const out: HealthReport = { name: r.name, ok: r.ok, rows: r.rows ?? 0, expected: r.expected };
  if (!r.ok) out.failure = failure(r);
  return out;
}

/** One line per failed check, for the CLI and the audit record. */
export function healthFailureLine(h: HealthReport): string {
  return `health check ${h.name} failed: ${h.failure} (${h.rows} row(s), expected ${h.expected})`;
}
