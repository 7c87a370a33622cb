/**
 * Finding PostgreSQL's programs: $PG_BIN first, then the newest /usr/lib/postgresql/<v>/bin,
 * then PATH. Debian puts server programs (initdb, pg_ctl, postgres) only under
 * /usr/lib/postgresql/<v>/bin, while client wrappers live on PATH.
 */
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { UsageError } from '../errors.js';

export type PgProgram =
  | 'initdb' | 'pg_ctl' | 'postgres' | 'psql' | 'pg_dump' | 'pg_dumpall' | 'pg_restore'
  | 'pg_basebackup' | 'pg_receivewal' | 'pg_verifybackup' | 'pg_waldump' | 'pg_isready' | 'pgbench'
  | 'createdb' | 'dropdb' | 'pg_controldata' | 'pg_archivecleanup';

const cache = new Map<string, string>();

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function candidateBinDirs(env: Record<string, string | undefined> = process.env): string[] {
  // An explicit PG_BIN means "this installation": never fall back silently to another version.
  if (env.PG_BIN) return [env.PG_BIN];
  const dirs: string[] = [];
  try {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) dirs.push(`/usr/lib/postgresql/${v}/bin`);
  } catch {
    /* not a Debian layout */
  }
  for (const d of (env.PATH ?? '').split(delimiter)) if (d) dirs.push(d);
  return dirs;
}

/** Absolute path of a PostgreSQL program, or a one-line UsageError (exit 2) naming it. */
export function pgBin(program: PgProgram, env: Record<string, string | undefined> = process.env): string {
  const key = `${program}\0${env.PG_BIN ?? ''}\0${env.PATH ?? ''}`;
  const hit = cache.get(key);
  if (hit) return hit;
  for (const dir of candidateBinDirs(env)) {
    const p = join(dir, program);
    if (executable(p)) {
      cache.set(key, p);
      return p;
    }
  }
  throw new UsageError(
    env.PG_BIN
      ? `PostgreSQL program "${program}" not found in PG_BIN=${env.PG_BIN}`
      : `PostgreSQL program "${program}" not found (looked in /usr/lib/postgresql/*/bin and PATH); install PostgreSQL >= 14 or set PG_BIN`,
    'pg.missing-binary',
  );
}
