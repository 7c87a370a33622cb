import { alterCmds, relationName } from './helpers.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'ban-drop-column',
  severity: 'error',
  title: 'Dropping a column',
  explanation:
    'DROP COLUMN deletes the column’s data, and every running application version that selects or inserts the column breaks the moment the migration commits. Stop reading and writing the column in the application first (deploy that), then drop it in a later migration, with a backup.',
  examples: { bad: ['ALTER TABLE users DROP COLUMN email;', 'ALTER TABLE users DROP COLUMN IF EXISTS email CASCADE;'], good: ['ALTER TABLE users ADD COLUMN nickname text;'] },
  check: (s) =>
    s.kind !== 'AlterTableStmt'
      ? undefined
      : alterCmds(s)
          .filter((c) => c.subtype === 'AT_DropColumn')
          .map((c) => `dropping column ${c.name} of ${relationName(s.node.relation)} deletes its data and breaks code that still uses it`),
};
