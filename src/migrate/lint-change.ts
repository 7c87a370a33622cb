/** Lints the migrations of a change with the SQL layer's linter and sums up the risk. */
import { lint, type LintFinding } from '../sql/index.js';
import type { MigrationFile } from './files.js';

export interface ChangeLint {
  findings: LintFinding[];
  errors: LintFinding[];
  warnings: LintFinding[];
  suppressed: LintFinding[];
  risk: 'none' | 'low' | 'medium' | 'high';
}

/**
 * Findings made moot by how prodguard applies migrations: every migration runs with SET LOCAL
 * lock_timeout and statement_timeout from the config, so "no lock_timeout set" cannot happen.
 */
const MOOT = new Set(['require-timeout-settings']);

export async function lintChange(files: MigrationFile[]): Promise<ChangeLint> {
  const findings: LintFinding[] = [];
  for (const f of files) findings.push(...(await lint(f.sql, { file: f.file, assumeInTransaction: !f.noTransaction })).filter((x) => !MOOT.has(x.ruleId)));
  const active = findings.filter((f) => !f.suppressed);
  const errors = active.filter((f) => f.severity === 'error');
  const warnings = active.filter((f) => f.severity === 'warning');
  const suppressed = findings.filter((f) => f.suppressed);
  const risk = files.length === 0 ? 'none' : errors.length ? 'high' : warnings.length || suppressed.length ? 'medium' : 'low';
  return { findings, errors, warnings, suppressed, risk };
}
