import { addedConstraints, isExistingTable, relationName } from './helpers.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'disallowed-unique-constraint',
  severity: 'error',
  title: 'Adding a UNIQUE or PRIMARY KEY constraint without a prior concurrent index',
  explanation:
    'ADD CONSTRAINT … UNIQUE / PRIMARY KEY builds its index while holding an ACCESS EXCLUSIVE lock, blocking reads and writes for the whole build. Build the index first with `CREATE UNIQUE INDEX CONCURRENTLY`, then attach it: `ALTER TABLE … ADD CONSTRAINT … UNIQUE USING INDEX …` is instant.',
  examples: {
    bad: ['ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);', 'ALTER TABLE users ADD PRIMARY KEY (id);'],
    good: ['ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;', 'CREATE TABLE users (id bigint, email text);\nALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);'],
  },
  check: (s, ctx) =>
    s.kind === 'AlterTableStmt' && isExistingTable(s.node.relation, ctx)
      ? addedConstraints(s)
          .filter((k) => (k.contype === 'CONSTR_UNIQUE' || k.contype === 'CONSTR_PRIMARY') && !k.indexname)
          .map((k) => ({ message: `${k.contype === 'CONSTR_PRIMARY' ? 'PRIMARY KEY' : 'UNIQUE'} constraint on ${relationName(s.node.relation)} builds its index under an ACCESS EXCLUSIVE lock; create the index CONCURRENTLY and add the constraint USING INDEX`, location: k.location as number }))
      : undefined,
};
