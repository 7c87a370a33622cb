/** Lints the migrations of a change with the SQL layer's linter and sums up the risk. */
import { lint, type LintFinding } from '../sql/index.js';
import type { MigrationFile } from './files.js';

export interface ChangeLint {
  findings: LintFinding[];
  errors: LintFinding[];
  warnings: LintFinding[];
  suppressed: LintFinding[];
  /** Findings (suppressed or not) about what a reviewer cannot see at a glance: listed apart by `migrate plan`. */
  carefulReview: LintFinding[];
  risk: 'none' | 'low' | 'medium' | 'high';
}

/**
 * Findings made moot by how prodguard applies migrations: every migration runs with SET LOCAL
 * lock_timeout and statement_timeout from the config, so "no lock_timeout set" cannot happen.
 */
const MOOT = new Set(['require-timeout-settings']);

/**
 * Rules whose findings mean "what runs is not what the diff shows" (dynamic SQL, bodies that drop,
 * role switches, safety settings, server files and programs, server configuration, transaction
 * control): `migrate plan` lists them under "needs a careful reviewer", suppressed ones included.
 */
export const CAREFUL_REVIEW_RULES: ReadonlySet<string> = new Set([
  'dynamic-sql',
  'ban-destructive-statement-in-routine',
  'ban-role-switching',
  'ban-safety-disabling-setting',
  'ban-server-file-access',
  'ban-alter-system',
  'transaction-nesting',
]);

export async function lintChange(files: MigrationFile[]): Promise<ChangeLint> {
  const findings: LintFinding[] = [];
  for (const f of files) findings.push(...(await lint(f.sql, { file: f.file, assumeInTransaction: !f.noTransaction })).filter((x) => !MOOT.has(x.ruleId)));
  const active = findings.filter((f) => !f.suppressed);
  const errors = active.filter((f) => f.severity === 'error');
  const warnings = active.filter((f) => f.severity === 'warning');
  const suppressed = findings.filter((f) => f.suppressed);
  const risk = files.length === 0 ? 'none' : errors.length ? 'high' : warnings.length || suppressed.length ? 'medium' : 'low';
  const carefulReview = findings.filter((f) => CAREFUL_REVIEW_RULES.has(f.ruleId));
  return { findings, errors, warnings, suppressed, carefulReview, risk };
}
