import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'ban-drop-database',
  severity: 'error',
  title: 'Dropping a database',
  explanation:
    'DROP DATABASE deletes every table, row and object of a database at once and cannot be rolled back; a migration has no business doing it. If a database really must go, take and verify a backup and drop it by hand through `prodguard guard` with break-glass, never from a migration.',
  examples: { bad: ['DROP DATABASE shop;', 'DROP DATABASE IF EXISTS shop WITH (FORCE);'], good: ['CREATE TABLE t (id bigint);'] },
  check: (s) => (s.kind === 'DropdbStmt' ? `DROP DATABASE ${s.node.dbname} deletes the whole database` : undefined),
};
