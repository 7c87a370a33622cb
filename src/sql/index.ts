/** The SQL layer's public API: classification and the migration linter. See docs/sql.md. */
export { loadSqlParser, SqlSyntaxError } from './parser.js';
export { classify, classifySync, worstClass, type StatementClass, type ClassifiedStatement } from './classify.js';
