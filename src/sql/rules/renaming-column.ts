import { relationName } from './helpers.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'renaming-column',
  severity: 'error',
  title: 'Renaming a column',
  explanation:
    'Renaming a column breaks every deployed application version and query that uses the old name, at the moment the migration commits. Add the new column, write to both, backfill, switch readers, then drop the old column in a later migration (expand/contract); or put a view with the old name in front.',
  examples: { bad: ['ALTER TABLE users RENAME COLUMN email TO email_address;'], good: ['ALTER TABLE users ADD COLUMN email_address text;'] },
  check: (s) => (s.kind === 'RenameStmt' && s.node.renameType === 'OBJECT_COLUMN' ? `renaming ${relationName(s.node.relation)}.${s.node.subname} to ${s.node.newname} breaks code that uses the old name` : undefined),
};
