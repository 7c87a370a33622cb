import { addedConstraints, alterCmds, isExistingTable, relationName } from './helpers.js';
import type { LintRule, RuleHit } from './types.js';

export const rule: LintRule = {
  id: 'constraint-missing-not-valid',
  severity: 'error',
  title: 'Adding a CHECK constraint without NOT VALID (or validating it in the same transaction)',
  explanation:
    'ADD CONSTRAINT … CHECK scans the whole table under an ACCESS EXCLUSIVE lock. Add it with `NOT VALID` (instant, new rows are checked) and run `VALIDATE CONSTRAINT` in a later migration: validating in the same transaction as the NOT VALID add keeps the strong lock for the scan and defeats the purpose.',
  examples: {
    bad: ['ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total > 0);', 'ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total > 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT total_positive;'],
    good: ['ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total > 0) NOT VALID;', 'ALTER TABLE orders VALIDATE CONSTRAINT total_positive;'],
  },
  check: (s, ctx) => {
    if (s.kind !== 'AlterTableStmt' || !isExistingTable(s.node.relation, ctx)) return undefined;
    const out = addedConstraints(s)
      .filter((k) => k.contype === 'CONSTR_CHECK' && !k.skip_validation)
      .map((k): RuleHit => ({ message: `CHECK constraint ${k.conname ?? ''}${k.conname ? ' ' : ''}on ${relationName(s.node.relation)} scans the table under an ACCESS EXCLUSIVE lock; add it NOT VALID and VALIDATE later`, location: k.location as number }));
    for (const c of alterCmds(s).filter((x) => x.subtype === 'AT_ValidateConstraint' && ctx.inTransaction && x.name !== undefined && ctx.notValidConstraints.has(x.name)))
      out.push(`constraint ${c.name} is validated in the same transaction that added it NOT VALID; validate it in a separate migration`);
    return out;
  },
};
