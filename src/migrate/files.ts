/**
 * Migration files: supabase/migrations/<14-digit>_<name>.sql (Supabase layout) or the configured
 * project.migrationsDir. Each file gets a sha256 of its bytes; order is by version then file name.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { UsageError } from '../errors.js';

export interface MigrationFile {
  /** The version prefix (Supabase: the 14-digit timestamp). */
  version: string;
  /** The part after the version, without .sql. */
  name: string;
  /** The file name, e.g. 20260101120000_add_users.sql. */
  file: string;
  path: string;
  sql: string;
  sha256: string;
  /** The file opts out of the per-migration transaction (`-- prodguard: no-transaction`). */
  noTransaction: boolean;
}

export interface MigrationSource {
  layout: 'supabase' | 'plain';
  dir: string;
  files: MigrationFile[];
}

export const NO_TRANSACTION_MARKER = /^\s*--\s*prodguard:\s*no-transaction\b/m;
const SUPABASE_NAME = /^(\d{14})_([A-Za-z0-9_.-]+)\.sql$/;
const PLAIN_NAME = /^(\d+)_([A-Za-z0-9_.-]+)\.sql$/;

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Which layout the project uses: configured supabase, or a supabase/migrations folder and no configured one. */
export function migrationLayout(loaded: LoadedConfig): { layout: 'supabase' | 'plain'; dir: string } {
  const p = loaded.config.project;
  if (p.layout === 'supabase') return { layout: 'supabase', dir: resolve(loaded.root, 'supabase/migrations') };
  const configured = resolve(loaded.root, p.migrationsDir);
  const supa = resolve(loaded.root, 'supabase/migrations');
  if (!existsSync(configured) && existsSync(supa)) return { layout: 'supabase', dir: supa };
  return { layout: 'plain', dir: configured };
}

export function readMigrations(loaded: LoadedConfig): MigrationSource {
  const { layout, dir } = migrationLayout(loaded);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    return { layout, dir, files: [] };
  }
  const pattern = layout === 'supabase' ? SUPABASE_NAME : PLAIN_NAME;
  const files: MigrationFile[] = [];
  const seen = new Map<string, string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.sql')).sort()) {
    const m = pattern.exec(f);
    if (!m) {
      throw new UsageError(
        layout === 'supabase'
          ? `migration file ${join(dir, f)} is not named <14-digit timestamp>_<name>.sql`
          : `migration file ${join(dir, f)} is not named <number>_<name>.sql`,
        'migrate.bad-name',
      );
    }
    const version = m[1];
    if (seen.has(version)) throw new UsageError(`migrations ${seen.get(version)} and ${f} share version ${version}`, 'migrate.duplicate-version');
    seen.set(version, f);
    const path = join(dir, f);
    const bytes = readFileSync(path);
    const sql = bytes.toString('utf8');
    files.push({ version, name: m[2], file: f, path, sql, sha256: sha256(bytes), noTransaction: NO_TRANSACTION_MARKER.test(leadingComments(sql)) });
  }
  files.sort((a, b) => (a.version.length - b.version.length) || a.version.localeCompare(b.version));
  return { layout, dir, files };
}

/** The comment block at the top of a file (where the no-transaction marker must be). */
function leadingComments(sql: string): string {
  const out: string[] = [];
  for (const line of sql.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('--')) out.push(t);
    else break;
  }
  return out.join('\n');
}
