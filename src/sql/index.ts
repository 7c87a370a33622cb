/** The SQL layer's public API: classification and the migration linter. See docs/sql.md. */
export { loadSqlParser, SqlSyntaxError } from './parser.js';
export { classify, classifySync, worstClass, type StatementClass, type ClassifiedStatement } from './classify.js';
export { lint, lintStatements, lintRules, type LintFinding, type LintOptions } from './lint.js';
export type { LintRule } from './rules/types.js';
