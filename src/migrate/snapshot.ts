/**
 * A normalised schema snapshot from the catalogs — tables, columns (type, nullability, default),
 * constraints, indexes, views, functions, triggers, sequences, types, policies, extensions — as
 * sorted "kind key → definition" entries, so two databases compare by value and differences can
 * be listed. Migration history schemas are left out (they are bookkeeping, not schema).
 */
import { withClient } from '../pg/client.js';
import { sha256 } from './files.js';
import { CATALOG_QUERIES } from './sql/catalog.js';

export interface SchemaEntry {
  kind: string;
  key: string;
  def: string;
}

export interface SchemaSnapshot {
  entries: SchemaEntry[];
  fingerprint: string;
}

export interface SchemaDifference {
  kind: string;
  key: string;
  /** 'missing' = only in the expected (left) side, 'extra' = only in the actual side. */
  change: 'missing' | 'extra' | 'different';
  expected?: string;
  actual?: string;
}

export const ALWAYS_EXCLUDED = ['supabase_migrations', 'prodguard'];

export async function schemaSnapshot(url: string, exclude: string[] = ALWAYS_EXCLUDED): Promise<SchemaSnapshot> {
  const entries = await withClient(url, async (c) => {
    const out: SchemaEntry[] = [];
    for (const q of CATALOG_QUERIES) {
      const r = await c.query(q, [exclude]);
      for (const row of r.rows as Array<{ kind: string; key: string; def: string | null }>) out.push({ kind: row.kind, key: row.key, def: (row.def ?? '').trim() });
    }
    return out;
  });
  entries.sort((a, b) => a.kind.localeCompare(b.kind) || a.key.localeCompare(b.key));
  return { entries, fingerprint: sha256(entries.map((e) => `${e.kind}\t${e.key}\t${e.def}`).join('\n')) };
}

export function diffSnapshots(expected: SchemaSnapshot, actual: SchemaSnapshot): SchemaDifference[] {
  const id = (e: SchemaEntry) => `${e.kind}\t${e.key}`;
  const left = new Map(expected.entries.map((e) => [id(e), e]));
  const right = new Map(actual.entries.map((e) => [id(e), e]));
  const out: SchemaDifference[] = [];
  for (const [k, e] of left) {
    const a = right.get(k);
    if (!a) out.push({ kind: e.kind, key: e.key, change: 'missing', expected: e.def });
    else if (a.def !== e.def) out.push({ kind: e.kind, key: e.key, change: 'different', expected: e.def, actual: a.def });
  }
  for (const [k, a] of right) if (!left.has(k)) out.push({ kind: a.kind, key: a.key, change: 'extra', actual: a.def });
  return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.key.localeCompare(b.key));
}

export function describeDifference(d: SchemaDifference, names: { expected: string; actual: string }): string {
  if (d.change === 'missing') return `${d.kind} ${d.key}: in ${names.expected}, missing in ${names.actual}`;
  if (d.change === 'extra') return `${d.kind} ${d.key}: in ${names.actual}, not in ${names.expected}${d.actual ? ` (${d.actual})` : ''}`;
  return `${d.kind} ${d.key}: ${names.expected} has "${d.expected}", ${names.actual} has "${d.actual}"`;
}
