import { alterCmds, isExistingTable, relationName } from './helpers.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'adding-not-null-field',
  severity: 'error',
  title: 'Setting NOT NULL on an existing column',
  explanation:
    'ALTER COLUMN … SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock, blocking reads and writes for as long as the scan takes. Add `CHECK (col IS NOT NULL) NOT VALID`, `VALIDATE CONSTRAINT` it in a separate migration (only a SHARE UPDATE EXCLUSIVE lock), then SET NOT NULL, which PostgreSQL 12+ proves from the valid constraint without a scan, and drop the check.',
  examples: {
    bad: ['ALTER TABLE users ALTER COLUMN email SET NOT NULL;'],
    good: ['ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;', 'CREATE TABLE users (email text);\nALTER TABLE users ALTER COLUMN email SET NOT NULL;'],
  },
  check: (s, ctx) =>
    s.kind === 'AlterTableStmt' && isExistingTable(s.node.relation, ctx)
      ? alterCmds(s)
          .filter((c) => c.subtype === 'AT_SetNotNull')
          .map((c) => `SET NOT NULL on ${relationName(s.node.relation)}.${c.name} scans the table under an ACCESS EXCLUSIVE lock`)
      : undefined,
};
