import { alterCmds, relationName } from './helpers.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'ban-drop-not-null',
  severity: 'warning',
  title: 'Dropping a NOT NULL constraint',
  explanation:
    'Dropping NOT NULL lets NULLs in, and code written against the column (and clients generated from the schema) may assume it is never NULL. Make sure every reader handles NULL before relaxing the constraint; suppress with the reason once checked.',
  examples: { bad: ['ALTER TABLE users ALTER COLUMN email DROP NOT NULL;'], good: ['ALTER TABLE users ALTER COLUMN email SET DEFAULT \'\';'] },
  check: (s) =>
    s.kind !== 'AlterTableStmt'
      ? undefined
      : alterCmds(s)
          .filter((c) => c.subtype === 'AT_DropNotNull')
          .map((c) => `dropping NOT NULL on ${relationName(s.node.relation)}.${c.name} lets NULLs reach code that assumes none`),
};
