import { alterCmds, isExistingTable, relationName } from './helpers.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'changing-column-type',
  severity: 'error',
  title: 'Changing a column’s type',
  explanation:
    'ALTER COLUMN … TYPE takes an ACCESS EXCLUSIVE lock and, for most type changes, rewrites the whole table and its indexes while every read and write waits; it can also lose precision and breaks clients that expect the old type. Add a new column of the new type, backfill it in batches, switch the application, then drop the old column.',
  examples: {
    bad: ['ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2);', 'ALTER TABLE orders ALTER COLUMN note SET DATA TYPE varchar(50);'],
    good: ['CREATE TABLE orders (total int);\nALTER TABLE orders ALTER COLUMN total TYPE bigint;', 'ALTER TABLE orders ADD COLUMN total_v2 numeric(12,2);'],
  },
  check: (s, ctx) =>
    s.kind === 'AlterTableStmt' && isExistingTable(s.node.relation, ctx)
      ? alterCmds(s)
          .filter((c) => c.subtype === 'AT_AlterColumnType')
          .map((c) => `changing the type of ${relationName(s.node.relation)}.${c.name} locks the table and usually rewrites it`)
      : undefined,
};
