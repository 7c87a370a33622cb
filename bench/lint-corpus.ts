/**
 * The corpus of real migrations that the lint bench, the squawk comparison and the corpus test
 * share: SQL migration files that ship inside npm packages installed as devDependencies of this
 * repo (so `npm ci` brings them; nothing is fetched at run time and nothing is copied into git).
 * Each package is read the way its own migrator reads it — same files, same order, same text
 * substitutions — and carries the prodguard runner whose transaction behaviour matches how that
 * migrator applies a file:
 *
 * - graphile-worker (MIT): sql/0000NN.sql, applied in order by its migrate.js with
 *   `:GRAPHILE_WORKER_SCHEMA` replaced by the quoted schema name, each file inside
 *   `begin` … `commit`; a failed file rolls back and is retried whole → one transaction per file,
 *   no partial re-run: runner `prodguard` (no opt-out comment in these files).
 * - @pgflow/core (Apache-2.0): Supabase migrations (dist/supabase/migrations) → runner `supabase`.
 * - @pgpm/database-jobs and @pgpm/metaschema-schema (MIT): sqitch-style modules; pgpm deploys the
 *   changes of pgpm.plan in plan order, each deploy/<change>.sql as written, and every file has
 *   its own BEGIN … COMMIT → runner `none` (the file's own transaction is the only one).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MigrationRunner } from '../src/sql/runner.js';

export interface CorpusPackage {
  name: string;
  version: string;
  license: string;
  /** The prodguard runner that applies a file as this package's migrator does. */
  runner: MigrationRunner;
  /** squawk's `--assume-in-transaction` matches this package's migrator (it wraps each file). */
  wrapsFile: boolean;
  /** How the package's migrator applies its files, for the docs. */
  how: string;
  /** `name@version/path` and the SQL as the migrator sends it. */
  files: Array<{ file: string; sql: string }>;
}

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Spec {
  name: string;
  runner: MigrationRunner;
  wrapsFile: boolean;
  how: string;
  /** Paths inside the package, in the order the migrator applies them. */
  list: (dir: string) => string[];
  /** The text the migrator actually sends. */
  rewrite?: (sql: string) => string;
}

const sqlFilesIn = (dir: string, sub: string) =>
  readdirSync(join(dir, sub))
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => `${sub}/${f}`);

/** pgpm.plan lines name changes in deploy order: `<change> [deps] <date> <planner> # note`. */
function pgpmPlan(dir: string): string[] {
  return readFileSync(join(dir, 'pgpm.plan'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('%') && !l.startsWith('#') && !l.startsWith('@'))
    .map((l) => `deploy/${l.split(/\s+/)[0]}.sql`);
}

const PGPM_HOW = 'pgpm deploys each change of pgpm.plan in order, the file as written (each has its own BEGIN … COMMIT)';

const SPECS: Spec[] = [
  {
    name: 'graphile-worker',
    runner: 'prodguard',
    wrapsFile: true,
    how: 'its migrator runs each sql/0000NN.sql in order inside begin … commit, :GRAPHILE_WORKER_SCHEMA replaced by the schema name',
    list: (dir) => sqlFilesIn(dir, 'sql'),
    // As graphile-worker's migrate.js does, with its default schema.
    rewrite: (sql) => sql.replace(/:GRAPHILE_WORKER_SCHEMA\b/g, '"graphile_worker"'),
  },
  {
    name: '@pgflow/core',
    runner: 'supabase',
    wrapsFile: true,
    how: 'Supabase migrations (copied into supabase/migrations and applied by the Supabase CLI, one transaction per file)',
    list: (dir) => sqlFilesIn(dir, 'dist/supabase/migrations'),
  },
  { name: '@pgpm/database-jobs', runner: 'none', wrapsFile: false, how: PGPM_HOW, list: pgpmPlan },
  { name: '@pgpm/metaschema-schema', runner: 'none', wrapsFile: false, how: PGPM_HOW, list: pgpmPlan },
];

/** The corpus packages with their files; throws one clear line when a package is missing. */
export function loadLintCorpus(root = repo): CorpusPackage[] {
  return SPECS.map((spec) => {
    const dir = join(root, 'node_modules', ...spec.name.split('/'));
    const pkgJson = join(dir, 'package.json');
    if (!existsSync(pkgJson)) {
      throw new Error(`lint corpus: npm package ${spec.name} is not installed in ${join(root, 'node_modules')} (it is a devDependency: run npm ci)`);
    }
    const pkg = JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string; license?: string };
    const files = spec.list(dir).map((rel) => {
      const abs = join(dir, rel);
      if (!existsSync(abs)) throw new Error(`lint corpus: ${spec.name}@${pkg.version} has no ${rel} (a different version than the one this corpus was written for?)`);
      const sql = readFileSync(abs, 'utf8');
      return { file: `${spec.name}@${pkg.version}/${rel}`, sql: spec.rewrite ? spec.rewrite(sql) : sql };
    });
    if (files.length === 0) throw new Error(`lint corpus: ${spec.name}@${pkg.version} ships no migration files where expected`);
    // @pgpm packages leave the field out of package.json and ship an MIT LICENSE file.
    const license = pkg.license ?? licenseFromFile(dir) ?? 'unknown';
    return { name: spec.name, version: pkg.version, license, runner: spec.runner, wrapsFile: spec.wrapsFile, how: spec.how, files };
  });
}

function licenseFromFile(dir: string): string | undefined {
  const f = join(dir, 'LICENSE');
  if (!existsSync(f)) return undefined;
  return /^\s*(The )?MIT License/i.test(readFileSync(f, 'utf8')) ? 'MIT' : undefined;
}

/** One line naming the corpus, for reports: `graphile-worker@0.17.3 (MIT), …`. */
export function describeCorpus(pkgs: CorpusPackage[]): string {
  return pkgs.map((p) => `${p.name}@${p.version} (${p.license}, ${p.files.length} files, --runner ${p.runner})`).join('; ');
}

/**
 * Writes each package's files as the migrator sends them (placeholders substituted) into
 * `<dir>/<n>/NNN-<name>.sql`, numbered in apply order, for tools that read files (squawk, the CLI).
 * Returns, per package, its folder, the file names in it, and the corpus name of each.
 */
export function writeCorpus(pkgs: CorpusPackage[], dir: string): Array<{ pkg: CorpusPackage; dir: string; names: string[]; corpusName: Map<string, string> }> {
  return pkgs.map((pkg, i) => {
    const sub = join(dir, String(i));
    mkdirSync(sub, { recursive: true });
    const corpusName = new Map<string, string>();
    const names = pkg.files.map((f, j) => {
      const name = `${String(j).padStart(3, '0')}-${f.file.split('/').slice(-1)[0]}`;
      writeFileSync(join(sub, name), f.sql);
      corpusName.set(name, f.file);
      return name;
    });
    return { pkg, dir: sub, names, corpusName };
  });
}
