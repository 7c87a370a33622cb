import { explainAnalyze } from '../classify.js';
import { collectFacts, relationName } from '../facts.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'ban-delete-without-where',
  severity: 'error',
  title: 'DELETE without WHERE',
  explanation:
    'A DELETE without WHERE removes every row of the table (also inside a writable CTE). If that is really intended, say so with a WHERE that states it, or suppress with the reason; otherwise add the condition you meant.',
  examples: { bad: ['DELETE FROM sessions;', 'WITH gone AS (DELETE FROM sessions RETURNING id) SELECT count(*) FROM gone;'], good: ['DELETE FROM sessions WHERE expires_at < now();', 'EXPLAIN DELETE FROM sessions;'] },
  check: (s) => {
    // EXPLAIN without ANALYZE only plans the statement; nothing is deleted or updated.
    if (s.kind === 'ExplainStmt' && !explainAnalyze(s.node)) return undefined;
    const out: string[] = [];
    if (s.kind === 'DeleteStmt' && !s.node.whereClause) out.push(`DELETE without WHERE deletes every row of ${relationName(s.node.relation)}`);
    for (const w of collectFacts(s.node).nestedWrites) if (w.kind === 'DeleteStmt' && !w.hasWhere) out.push(`DELETE without WHERE (in a CTE) deletes every row of ${w.relation}`);
    return out;
  },
};
