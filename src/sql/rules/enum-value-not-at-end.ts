import { stringParts } from '../facts.js';
import { asNode, type TaggedNode } from '../ast.js';
import type { LintRule } from './types.js';

/** The values of an enum created earlier in the same migration, if it was. */
function valuesCreatedEarlier(all: TaggedNode[], upTo: number, type: string): string[] | undefined {
  let vals: string[] | undefined;
  for (const s of all.slice(0, upTo)) {
    if (s.kind === 'CreateEnumStmt' && stringParts(s.node.typeName).join('.') === type) vals = (s.node.vals ?? []).map((v) => String(asNode(v, 'String')?.sval));
    if (s.kind === 'AlterEnumStmt' && vals && stringParts(s.node.typeName).join('.') === type && s.node.newVal) {
      const at = s.node.newValNeighbor ? vals.indexOf(s.node.newValNeighbor) + (s.node.newValIsAfter ? 1 : 0) : vals.length;
      vals.splice(at < 0 ? vals.length : at, 0, String(s.node.newVal));
    }
  }
  return vals;
}

export const rule: LintRule = {
  id: 'enum-value-not-at-end',
  severity: 'warning',
  title: 'Enum value added before or in the middle of existing values',
  explanation:
    '`ALTER TYPE … ADD VALUE … BEFORE/AFTER` changes the sort order of an enum that data and indexes already use: every `ORDER BY`, `<` / `>` comparison and range check on that column silently changes meaning, and values added out of order get odd OIDs that make every comparison look the order up in the catalog. Add new values at the end (no BEFORE/AFTER); order explicitly in queries when a different order is needed.',
  examples: {
    bad: ["ALTER TYPE order_status ADD VALUE 'refunded' BEFORE 'shipped';", "ALTER TYPE order_status ADD VALUE 'on_hold' AFTER 'new';"],
    good: ["ALTER TYPE order_status ADD VALUE 'refunded';", "CREATE TYPE mood AS ENUM ('sad', 'ok');\nALTER TYPE mood ADD VALUE 'happy' AFTER 'ok';"],
  },
  check: (s, ctx) => {
    if (s.kind !== 'AlterEnumStmt' || !s.node.newVal || !s.node.newValNeighbor) return undefined;
    const type = stringParts(s.node.typeName).join('.');
    const known = valuesCreatedEarlier(ctx.all, ctx.all.indexOf(s), type);
    // AFTER the last value of an enum this migration created is the end after all.
    if (known && s.node.newValIsAfter && known[known.length - 1] === s.node.newValNeighbor) return undefined;
    return `enum value '${s.node.newVal}' is added ${s.node.newValIsAfter ? 'after' : 'before'} '${s.node.newValNeighbor}', not at the end of ${type}: the order of existing values changes for every comparison and ORDER BY`;
  },
};
