import { relationName } from './helpers.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'renaming-table',
  severity: 'error',
  title: 'Renaming a table',
  explanation:
    'Renaming a table breaks every deployed application version, view-less query and foreign tool that uses the old name. Create the new table (or a view under the new name), migrate readers and writers, then retire the old name in a later migration.',
  examples: { bad: ['ALTER TABLE users RENAME TO accounts;'], good: ['CREATE VIEW accounts AS SELECT * FROM users;'] },
  check: (s) => (s.kind === 'RenameStmt' && s.node.renameType === 'OBJECT_TABLE' ? `renaming table ${relationName(s.node.relation)} to ${s.node.newname} breaks code that uses the old name` : undefined),
};
