import { addedConstraints, isExistingTable, relationName } from './helpers.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'adding-foreign-key-constraint',
  severity: 'error',
  title: 'Adding a foreign key without NOT VALID',
  explanation:
    'Adding a FOREIGN KEY validates every existing row while holding SHARE ROW EXCLUSIVE locks on both the table and the referenced table, blocking writes to both for the whole scan. Add it with `NOT VALID` (instant; new rows are checked), then `ALTER TABLE … VALIDATE CONSTRAINT` in a separate migration, which only takes SHARE UPDATE EXCLUSIVE.',
  examples: {
    bad: ['ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);', 'ALTER TABLE orders ADD COLUMN user_id bigint REFERENCES users (id);'],
    good: ['ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;', 'CREATE TABLE orders (id bigint, user_id bigint);\nALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);'],
  },
  check: (s, ctx) =>
    s.kind === 'AlterTableStmt' && isExistingTable(s.node.relation, ctx)
      ? addedConstraints(s)
          .filter((k) => k.contype === 'CONSTR_FOREIGN' && !k.skip_validation)
          .map((k) => ({ message: `foreign key ${k.conname ?? ''}${k.conname ? ' ' : ''}on ${relationName(s.node.relation)} → ${relationName(k.pktable)} validates every row while blocking writes to both tables; add it NOT VALID and VALIDATE later`, location: k.location as number }))
      : undefined,
};
