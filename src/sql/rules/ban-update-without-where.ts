import { explainAnalyze } from '../classify.js';
import { collectFacts, relationName } from '../facts.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'ban-update-without-where',
  severity: 'error',
  title: 'UPDATE without WHERE',
  explanation:
    'An UPDATE without WHERE rewrites every row of the table, locks all of them until commit and bloats the table. Backfills belong in batches (`WHERE id BETWEEN …`), outside schema migrations; if every row really must change, suppress with the reason.',
  examples: { bad: ['UPDATE users SET active = true;', 'EXPLAIN ANALYZE UPDATE users SET active = true;'], good: ['UPDATE users SET active = true WHERE id BETWEEN 1 AND 10000;', 'EXPLAIN UPDATE users SET active = true;'] },
  check: (s) => {
    // EXPLAIN without ANALYZE only plans the statement; nothing is deleted or updated.
    if (s.kind === 'ExplainStmt' && !explainAnalyze(s.node)) return undefined;
    const out: string[] = [];
    if (s.kind === 'UpdateStmt' && !s.node.whereClause) out.push(`UPDATE without WHERE rewrites every row of ${relationName(s.node.relation)}`);
    for (const w of collectFacts(s.node).nestedWrites) if (w.kind === 'UpdateStmt' && !w.hasWhere) out.push(`UPDATE without WHERE (in a CTE) rewrites every row of ${w.relation}`);
    return out;
  },
};
