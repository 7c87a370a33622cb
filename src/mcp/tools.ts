/**
 * What agents may do with production through `prodguard mcp`, each as a plain function the MCP
 * server (and tests) call: read-only queries through the same classification as the gateway and
 * inside a READ ONLY transaction, schema description, EXPLAIN (never ANALYZE), backup and deploy
 * status from the state store, and requesting a change — which writes a migration file for the
 * staging-first pipeline and never touches the database.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Client } from '../pg/client.js';
import type { Context } from '../context.js';
import { judgeSql } from '../gateway/judge.js';
import { parseStatements, loadSqlParser } from '../sql/parser.js';
import { RefusedError, UsageError } from '../errors.js';
import { listBackups } from '../backup/catalog.js';
import { migrationLayout, readMigrations } from '../migrate/files.js';
import * as scorecard from '../status/scorecard.js';

export const MAX_ROWS = 1000;
/** temp_file_limit of an agent's query (set when the login is a superuser; else the role's own setting). */
export const MCP_TEMP_FILE_LIMIT = '1GB';
/** What one answer may carry: a single 300 MB value closed the agent's session (red team ag-009). */
export const MAX_RESULT_CHARS = 1_000_000;
export const MAX_VALUE_CHARS = 100_000;

/** Refuses anything but exactly one statement the SQL engine proves read-only. */
export async function requireReadOnly(sql: string): Promise<string> {
  await loadSqlParser();
  const stmts = parseStatements(sql);
  if (stmts.length !== 1) throw new UsageError(`give exactly one SQL statement (got ${stmts.length})`, 'mcp.sql');
  const j = judgeSql(stmts[0].text);
  if (j.class !== 'read') {
    throw new RefusedError(`refused: ${j.class} statement (${j.reason}). prodguard mcp is read-only; to change production use the request_change tool, which writes a migration for review.`, 'mcp.refused');
  }
  return stmts[0].text;
}

/** Runs `fn` inside BEGIN READ ONLY with a statement timeout, always rolled back. */
async function readOnly<T>(c: Client, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN TRANSACTION READ ONLY');
  try {
    await c.query(`SET LOCAL statement_timeout = '30s'`);
    // Reads cannot write tables, but a sort of a generated billion rows fills production's disk
    // with temporary files (red team w6d-346): capped where this login may set the limit and none
    // is set yet. Asked first: through the gateway (which sets it itself, and refuses set_config of
    // it) the second statement is never sent.
    const need = await c.query<{ need: boolean }>(`SELECT rolsuper AND current_setting('temp_file_limit') = '-1' AS need FROM pg_roles WHERE rolname = current_user`);
    if (need.rows[0]?.need) await c.query(`SELECT set_config('temp_file_limit', $1, true)`, [MCP_TEMP_FILE_LIMIT]);
    return await fn();
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
  }
}

export interface QueryResult {
  columns: string[];
  rows: Array<Record<string, unknown>>;
  /** More rows than the limit, or the rows cut at MAX_RESULT_CHARS. */
  truncated: boolean;
  /** Why the answer is shorter than the result, when it was cut by size. */
  note?: string;
}

/** Cuts values longer than MAX_VALUE_CHARS and stops adding rows past MAX_RESULT_CHARS. */
export function capResult(r: QueryResult): QueryResult {
  let total = 0;
  let cutValues = 0;
  const rows: Array<Record<string, unknown>> = [];
  for (const row of r.rows) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) {
      const text = typeof v === 'string' ? v : v !== null && typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : undefined;
      if (text !== undefined && text.length > MAX_VALUE_CHARS) {
        out[k] = `${text.slice(0, MAX_VALUE_CHARS)}… [${text.length} characters, cut]`;
        cutValues++;
      } else out[k] = v;
    }
    total += JSON.stringify(out).length;
    if (total > MAX_RESULT_CHARS && rows.length > 0) {
      return { ...r, rows, truncated: true, note: `answer cut at ${rows.length} row(s): more than ${MAX_RESULT_CHARS} characters${cutValues ? `; ${cutValues} value(s) cut at ${MAX_VALUE_CHARS} characters` : ''}` };
    }
    rows.push(out);
  }
  return cutValues ? { ...r, rows, note: `${cutValues} value(s) cut at ${MAX_VALUE_CHARS} characters` } : { ...r, rows };
}

/**
 * Rows as objects keyed by column name, a repeated name numbered (`a`, `a (2)`): node-postgres's
 * own objects keep only the last of two columns named alike (red team w5d: `SELECT 1 AS a, 2 AS a`
 * showed one column).
 */
function namedRows(fields: Array<{ name: string }>, arrays: unknown[][]): { columns: string[]; rows: Array<Record<string, unknown>> } {
  const seen = new Map<string, number>();
  const columns = fields.map((f) => {
    const n = (seen.get(f.name) ?? 0) + 1;
    seen.set(f.name, n);
    return n === 1 ? f.name : `${f.name} (${n})`;
  });
  return { columns, rows: arrays.map((a) => Object.fromEntries(columns.map((col, i) => [col, a[i]]))) };
}

export async function runReadOnlyQuery(c: Client, sql: string, limit = 100): Promise<QueryResult> {
  const text = await requireReadOnly(sql);
  const n = Math.max(1, Math.min(MAX_ROWS, Math.floor(limit)));
  const isSelect = parseStatements(text)[0].kind === 'SelectStmt';
  return capResult(await readOnly(c, async () => {
    if (isSelect) {
      // A cursor fetches only limit+1 rows, however large the result would be.
      await c.query(`DECLARE prodguard_mcp NO SCROLL CURSOR FOR ${text}`);
      const r = await c.query<unknown[]>({ text: `FETCH ${n + 1} FROM prodguard_mcp`, rowMode: 'array' });
      return { ...namedRows(r.fields, r.rows.slice(0, n)), truncated: r.rows.length > n };
    }
    const r = await c.query<unknown[]>({ text, rowMode: 'array' });
    const arrays = (r.rows ?? []) as unknown[][];
    return { ...namedRows(r.fields ?? [], arrays.slice(0, n)), truncated: arrays.length > n };
  }));
}

export async function explainQuery(c: Client, sql: string): Promise<string> {
  const text = await requireReadOnly(sql);
  return readOnly(c, async () => ((await c.query(`EXPLAIN (FORMAT TEXT) ${text}`)).rows as Array<{ 'QUERY PLAN': string }>).map((r) => r['QUERY PLAN']).join('\n'));
}

export async function describeSchema(c: Client, schema = 'public'): Promise<Array<{ table: string; kind: string; columns: number; estimatedRows: number }>> {
  return readOnly(c, async () =>
    (
      await c.query(
        `SELECT c.relname AS table, CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' END AS kind,
                (SELECT count(*)::int FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
                greatest(c.reltuples, 0)::bigint AS "estimatedRows"
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY c.relname`,
        [schema],
      )
    ).rows.map((r) => ({ ...r, estimatedRows: Number(r.estimatedRows) })),
  );
}

export async function describeTable(c: Client, table: string): Promise<{ table: string; columns: unknown[]; indexes: unknown[]; constraints: unknown[] }> {
  return readOnly(c, async () => {
    const reg = (await c.query('SELECT to_regclass($1)::oid AS oid', [table])).rows[0].oid as number | null;
    if (!reg) throw new UsageError(`no table "${table}"`, 'mcp.table');
    const columns = (
      await c.query(
        `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable, pg_get_expr(d.adbin, d.adrelid) AS default
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
        [reg],
      )
    ).rows;
    const indexes = (await c.query(`SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS definition FROM pg_index WHERE indrelid = $1 ORDER BY 1`, [reg])).rows;
    const constraints = (await c.query(`SELECT conname AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conrelid = $1 ORDER BY conname`, [reg])).rows;
    return { table, columns, indexes, constraints };
  });
}

export async function backupStatus(ctx: Context, env: string): Promise<Record<string, unknown>> {
  const all = await listBackups(ctx, { env });
  const verified = all.find((m) => m.verified?.ok);
  const brief = (m: (typeof all)[number] | undefined) => (m ? { id: m.id, finishedAt: m.finishedAt, destinations: m.destinations, verified: m.verified?.ok ?? false } : null);
  return { environment: env, backups: all.length, newest: brief(all[0]), newestVerified: brief(verified) };
}

export async function deployStatus(ctx: Context): Promise<Record<string, unknown>> {
  const m = readMigrations(ctx.loaded);
  const card = await scorecard.runScorecard(ctx);
  const rules = card.rules.filter((r) => r.rule === 3 || r.rule === 5).map((r) => ({ rule: r.rule, title: r.title, state: r.state, reason: r.reason }));
  return { migrationsDir: relative(ctx.loaded.root, m.dir) || '.', migrations: m.files.map((f) => f.file), rules };
}

/** Writes a new migration file for review; never applies it. */
export async function requestChange(ctx: Context, req: { name: string; sql: string; reason: string }, now = new Date()): Promise<{ file: string; findings: unknown[]; next: string }> {
  if (!/^[a-z0-9][a-z0-9_]{0,60}$/.test(req.name)) throw new UsageError('name must be lowercase letters, digits and _ (at most 61)', 'mcp.request');
  if (!req.reason.trim()) throw new UsageError('a change request needs a reason', 'mcp.request');
  await loadSqlParser();
  parseStatements(req.sql); // a syntax error is reported now, not at review
  const { layout, dir } = migrationLayout(ctx.loaded);
  // Two requests in the same second must not share a version: `migrate` refuses a directory where
  // two files do (red team ag-008). Calls are serialized, so the first free second is ours.
  const taken = new Set(existsSync(dir) ? readdirSync(dir).map((f) => f.split('_')[0]) : []);
  let at = now.getTime();
  const stampAt = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  while (taken.has(stampAt(at))) at += 1000;
  const stamp = stampAt(at);
  const file = join(dir, `${stamp}_${req.name}.sql`);
  if (existsSync(file)) throw new UsageError(`${relative(ctx.loaded.root, file)} already exists`, 'mcp.request');
  mkdirSync(dir, { recursive: true });
  const body = `-- Requested through prodguard mcp: ${req.reason.replace(/\n/g, ' ')}\n${req.sql.trim()}\n`;
  writeFileSync(file, body, { flag: 'wx' });
  const { lintSources } = await import('../sql/lint-files.js');
  const run = await lintSources([{ file: relative(ctx.loaded.root, file), sql: body }]);
  void layout;
  return {
    file: relative(ctx.loaded.root, file),
    findings: run.findings.map((f) => ({ rule: f.ruleId, severity: f.severity, line: f.line, message: f.message })),
    next: `Review the file, then: prodguard migrate apply --env staging; prodguard migrate request ${relative(ctx.loaded.root, file)}; two seniors approve; CI deploys.`,
  };
}
