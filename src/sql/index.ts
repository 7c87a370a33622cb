/** The SQL layer's public API: classification and the migration linter. See docs/sql.md. */
export { loadSqlParser, SqlSyntaxError } from './parser.js';
export { classify, classifySync, newClassifyContext, worstClass, type StatementClass, type ClassifiedStatement, type ClassifyContext } from './classify.js';
export { safetyLimitViolation, DEFAULT_SESSION_LIMIT_CAPS, type SessionLimitCaps } from './session-limits.js';
export { lint, lintStatements, lintRules, type LintFinding, type LintOptions } from './lint.js';
export type { LintRule } from './rules/types.js';
