/**
 * Linting migration files from disk: finding them (files or directories, *.sql, sorted),
 * linting each, and rendering the findings as text, JSON or SARIF 2.1.0.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { UsageError } from '../errors.js';
import { lintRules, lintStatements, type LintFinding } from './lint.js';
import { loadSqlParser, parseStatements, SqlSyntaxError } from './parser.js';
import type { MigrationRunner } from './runner.js';

export interface LintRun {
  /** Files linted, relative to the working directory (`<stdin>` for standard input). */
  files: string[];
  /** The text of each file, for showing source lines. */
  sources: Record<string, string>;
  findings: LintFinding[];
  summary: { files: number; statements: number; errors: number; warnings: number; suppressed: number };
}

/** Expands paths to the *.sql files they name (directories: their *.sql files, sorted, not recursive). */
export function migrationFiles(paths: string[], cwd = process.cwd()): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const abs = resolve(cwd, p);
    if (!existsSync(abs)) throw new UsageError(`${p}: no such file or directory`, 'lint.path');
    if (statSync(abs).isDirectory()) {
      const sql = readdirSync(abs).filter((f) => f.endsWith('.sql')).sort();
      out.push(...sql.map((f) => join(abs, f)));
    } else out.push(abs);
  }
  return out;
}

/** The default migrations folder: the config's, else supabase/migrations, else migrations/. */
export function defaultMigrationsDir(root: string, configured?: string): string | undefined {
  const candidates = [configured, 'supabase/migrations', 'migrations'].filter((x): x is string => Boolean(x));
  for (const c of candidates) {
    const abs = resolve(root, c);
    if (existsSync(abs) && statSync(abs).isDirectory()) return abs;
  }
  return undefined;
}

/** Reads the SQL of each path: files, directories of *.sql (sorted), or `-` for standard input. */
export function readMigrationSources(paths: string[], cwd = process.cwd()): Array<{ file: string; sql: string }> {
  const out: Array<{ file: string; sql: string }> = [];
  for (const p of paths) {
    if (p === '-') {
      out.push({ file: '<stdin>', sql: readFileSync(0, 'utf8') });
      continue;
    }
    for (const abs of migrationFiles([p], cwd)) {
      const file = relative(cwd, abs).split(sep).join('/') || abs;
      try {
        out.push({ file, sql: readFileSync(abs, 'utf8') });
      } catch (err) {
        throw new UsageError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 'lint.unreadable');
      }
    }
  }
  return out;
}

/** Lints files; an unparseable file is a UsageError naming file:line:column. */
export async function lintFiles(files: string[], opts: { cwd?: string; assumeInTransaction?: boolean; runner?: MigrationRunner; postgresMajor?: number } = {}): Promise<LintRun> {
  return lintSources(readMigrationSources(files, opts.cwd), opts);
}

/** Lints named SQL texts (files already read, or standard input). */
export async function lintSources(sources: Array<{ file: string; sql: string }>, opts: { assumeInTransaction?: boolean; runner?: MigrationRunner; postgresMajor?: number } = {}): Promise<LintRun> {
  await loadSqlParser();
  const findings: LintFinding[] = [];
  let statements = 0;
  for (const { file, sql } of sources) {
    let stmts;
    try {
      stmts = parseStatements(sql);
    } catch (err) {
      if (err instanceof SqlSyntaxError) throw new UsageError(`${file}:${err.line}:${err.column}: ${err.detail}`, 'sql.syntax', err);
      throw err;
    }
    statements += stmts.length;
    findings.push(...lintStatements(sql, stmts, { file, assumeInTransaction: opts.assumeInTransaction, runner: opts.runner, postgresMajor: opts.postgresMajor }));
  }
  const active = findings.filter((f) => !f.suppressed);
  return {
    files: sources.map((x) => x.file),
    sources: Object.fromEntries(sources.map((x) => [x.file, x.sql])),
    findings,
    summary: {
      files: sources.length,
      statements,
      errors: active.filter((f) => f.severity === 'error').length,
      warnings: active.filter((f) => f.severity === 'warning').length,
      suppressed: findings.length - active.length,
    },
  };
}

/** `file:line:column: severity rule-id: message`, the source line and a caret under the column. */
export function formatText(run: LintRun): string {
  const lines: string[] = [];
  const sources = new Map<string, string[]>();
  for (const f of run.findings.filter((x) => !x.suppressed)) {
    lines.push(`${f.file ?? '<input>'}:${f.line}:${f.column}: ${f.severity} ${f.ruleId}: ${f.message}`);
    if (f.file) {
      if (!sources.has(f.file)) sources.set(f.file, (run.sources[f.file] ?? '').split('\n'));
      const src = sources.get(f.file)![f.line - 1] ?? '';
      lines.push(`  ${src.replace(/\t/g, ' ')}`);
      lines.push(`  ${' '.repeat(Math.max(0, f.column - 1))}^`);
    }
  }
  const s = run.summary;
  lines.push(
    `${s.files} file(s), ${s.statements} statement(s): ${s.errors} error(s), ${s.warnings} warning(s)${s.suppressed ? `, ${s.suppressed} suppressed` : ''}`,
  );
  return lines.join('\n');
}

/** The JSON document of `--format json` (schema: docs/schemas/lint-output.schema.json). */
export function formatJson(run: LintRun): object {
  return { tool: 'prodguard-lint', version: 1, files: run.files, summary: run.summary, findings: run.findings };
}

/** SARIF 2.1.0 for GitHub code scanning: one run, rules from the rule objects, results with regions. */
export function formatSarif(run: LintRun, toolVersion: string): object {
  const rules = lintRules.map((r) => ({
    id: r.id,
    name: r.id.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase()),
    shortDescription: { text: r.title },
    fullDescription: { text: r.explanation },
    help: { text: `${r.explanation} (docs/sql.md#${r.id})` },
    defaultConfiguration: { level: r.severity },
  }));
  const index = new Map(lintRules.map((r, i) => [r.id, i]));
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'prodguard', version: toolVersion, rules } },
        originalUriBaseIds: { '%SRCROOT%': { uri: pathToUri(process.cwd()) } },
        artifacts: run.files.map((f) => ({ location: { uri: f, uriBaseId: '%SRCROOT%' } })),
        results: run.findings.map((f) => ({
          ruleId: f.ruleId,
          ruleIndex: index.get(f.ruleId) ?? 0,
          level: f.severity,
          message: { text: f.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: f.file ?? 'input.sql', uriBaseId: '%SRCROOT%' },
                region: { startLine: f.line, startColumn: f.column },
              },
            },
          ],
          ...(f.suppressed ? { suppressions: [{ kind: 'inSource', justification: f.suppressed.reason }] } : {}),
        })),
      },
    ],
  };
}

function pathToUri(p: string): string {
  const withSlash = p.split(sep).join('/').replace(/\/?$/, '/');
  return 'file://' + (withSlash.startsWith('/') ? '' : '/') + encodeURI(withSlash);
}
