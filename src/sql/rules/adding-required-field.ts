import { asNode } from '../ast.js';
import { alterCmds, columnConstraints, isExistingTable, relationName } from './helpers.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'adding-required-field',
  severity: 'error',
  title: 'Adding a NOT NULL column without a default',
  explanation:
    'ADD COLUMN … NOT NULL without a DEFAULT fails on any table that has rows, and even when the table is empty today, application versions that insert without the column break. Add the column with a (non-volatile) DEFAULT, or add it nullable, backfill, and then enforce NOT NULL safely (see adding-not-null-field).',
  examples: {
    bad: ['ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL;'],
    good: ['ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL DEFAULT 0;', 'ALTER TABLE users ADD COLUMN tenant_id bigint;'],
  },
  check: (s, ctx) =>
    s.kind === 'AlterTableStmt' && isExistingTable(s.node.relation, ctx)
      ? alterCmds(s)
          .filter((c) => c.subtype === 'AT_AddColumn')
          .filter((c) => {
            const cons = columnConstraints(asNode(c.def, 'ColumnDef'));
            const notNull = cons.some((k) => k.contype === 'CONSTR_NOTNULL' || k.contype === 'CONSTR_PRIMARY');
            const filled = cons.some((k) => k.contype === 'CONSTR_DEFAULT' || k.contype === 'CONSTR_GENERATED' || k.contype === 'CONSTR_IDENTITY');
            return notNull && !filled;
          })
          .map((c) => asNode(c.def, 'ColumnDef')!)
          .map((col) => ({ message: `adding NOT NULL column ${col.colname} to ${relationName(s.node.relation)} without a DEFAULT fails on a table with rows`, location: col.location as number }))
      : undefined,
};
