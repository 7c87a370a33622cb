/**
 * Where applied migrations are recorded, in the target database itself:
 * - Supabase layout: supabase_migrations.schema_migrations, like the Supabase CLI (created the
 *   way the CLI creates it when absent; its real columns are read before every insert, because
 *   newer CLI versions add columns);
 * - otherwise: config.migrations.historyTable (default prodguard.schema_migrations) with the
 *   file hash, time, actor and change hash.
 */
import type pg from 'pg';
import type { LoadedConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { quoteIdent } from '../pg/client.js';
import { loadSqlParser, parseStatements } from '../sql/parser.js';
import { migrationLayout, type MigrationFile } from './files.js';
import { CREATE_SUPABASE_HISTORY_SQL, TABLE_COLUMNS_SQL, TABLE_EXISTS_SQL, createProdguardHistorySql } from './sql/history.js';

export interface HistoryTarget {
  kind: 'supabase' | 'prodguard';
  schema: string;
  table: string;
  /** schema.table, quoted. */
  qualified: string;
}

export interface AppliedMigration {
  version: string;
  name: string | null;
  /** Known for prodguard's table; the Supabase table keeps statements, not a hash. */
  sha256: string | null;
  appliedAt: string | null;
  appliedBy: string | null;
  changeHash: string | null;
}

export function historyTarget(loaded: LoadedConfig): HistoryTarget {
  if (migrationLayout(loaded).layout === 'supabase') {
    return { kind: 'supabase', schema: 'supabase_migrations', table: 'schema_migrations', qualified: 'supabase_migrations.schema_migrations' };
  }
  const parts = loaded.config.migrations.historyTable.split('.');
  if (parts.length !== 2 || parts.some((p) => !/^[a-z_][a-z0-9_]*$/.test(p))) {
    throw new UsageError(`migrations.historyTable must be schema.table in lowercase, got "${loaded.config.migrations.historyTable}"`, 'config.invalid');
  }
  return { kind: 'prodguard', schema: parts[0], table: parts[1], qualified: `${quoteIdent(parts[0])}.${quoteIdent(parts[1])}` };
}

export async function historyExists(c: pg.Client, t: HistoryTarget): Promise<boolean> {
  const r = await c.query(TABLE_EXISTS_SQL, [`${t.schema}.${t.table}`]);
  return r.rows[0].exists === true;
}

export async function ensureHistory(c: pg.Client, t: HistoryTarget): Promise<void> {
  if (await historyExists(c, t)) return;
  await c.query(t.kind === 'supabase' ? CREATE_SUPABASE_HISTORY_SQL : createProdguardHistorySql(quoteIdent(t.schema), quoteIdent(t.table)));
}

export async function readApplied(c: pg.Client, t: HistoryTarget): Promise<AppliedMigration[]> {
  if (!(await historyExists(c, t))) return [];
  const cols = new Set((await c.query(TABLE_COLUMNS_SQL, [`${t.schema}.${t.table}`])).rows.map((r: { name: string }) => r.name));
  const pick = (col: string) => (cols.has(col) ? quoteIdent(col) : 'NULL');
  const r = await c.query(
    `SELECT version::text AS version, ${pick('name')}::text AS name, ${pick('sha256')}::text AS sha256,
            ${pick('applied_at')}::text AS applied_at, ${pick('applied_by')}::text AS applied_by, ${pick('change_hash')}::text AS change_hash
       FROM ${t.qualified} ORDER BY length(version::text), version`,
  );
  return r.rows.map((row: Record<string, string | null>) => ({
    version: row.version as string,
    name: row.name,
    sha256: row.sha256,
    appliedAt: row.applied_at,
    appliedBy: row.applied_by,
    changeHash: row.change_hash,
  }));
}

/** Records one applied migration; call inside the migration's transaction. */
export async function recordApplied(c: pg.Client, t: HistoryTarget, m: MigrationFile, info: { actor: string; changeHash: string }): Promise<void> {
  if (t.kind === 'prodguard') {
    await c.query(`INSERT INTO ${t.qualified} (version, name, sha256, applied_by, change_hash) VALUES ($1, $2, $3, $4, $5)`, [
      m.version,
      m.name,
      m.sha256,
      info.actor,
      info.changeHash,
    ]);
    return;
  }
  const cols = new Set((await c.query(TABLE_COLUMNS_SQL, [`${t.schema}.${t.table}`])).rows.map((r: { name: string }) => r.name));
  const names: string[] = ['version'];
  const values: unknown[] = [m.version];
  if (cols.has('statements')) {
    names.push('statements');
    values.push(await splitStatements(m.sql));
  }
  if (cols.has('name')) {
    names.push('name');
    values.push(m.name);
  }
  if (cols.has('created_by')) {
    names.push('created_by');
    values.push(info.actor);
  }
  await c.query(
    `INSERT INTO ${t.qualified} (${names.map(quoteIdent).join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`,
    values,
  );
}

/** The file's statements, as the Supabase CLI stores them. */
export async function splitStatements(sql: string): Promise<string[]> {
  await loadSqlParser();
  return parseStatements(sql).map((s) => s.text);
}
