import { stringParts } from '../facts.js';
import { asNode, type JsonObject, type Node } from '../ast.js';
import type { LintRule } from './types.js';

/** True when `node` contains the string constant `value` anywhere. */
function usesString(node: unknown, value: string): boolean {
  if (Array.isArray(node)) return (node as unknown[]).some((n) => usesString(n, value));
  if (!node || typeof node !== 'object') return false;
  // Any object of the tree: an A_Const key marks a wrapped constant.
  const c = asNode(node as Node, 'A_Const');
  if (c?.sval && c.sval.sval === value) return true;
  return Object.values(node as JsonObject).some((v) => typeof v === 'object' && usesString(v, value));
}

export const rule: LintRule = {
  id: 'ban-alter-enum-add-value-in-transaction',
  severity: 'error',
  title: 'ALTER TYPE … ADD VALUE where the transaction makes it fail',
  explanation:
    'Before PostgreSQL 12, `ALTER TYPE … ADD VALUE` cannot run inside a transaction block at all, so a runner that wraps the file fails. From 12 on it may, but the new value cannot be used until the transaction commits: an INSERT, UPDATE or default that uses it later in the same transaction fails with "unsafe use of new value". Put the ADD VALUE in its own migration (outside a transaction before 12) and use the value in a later one. Set the server version with `lint --postgres-version`.',
  examples: {
    bad: ["ALTER TYPE order_status ADD VALUE 'refunded';\nUPDATE orders SET status = 'refunded' WHERE refunded_at IS NOT NULL;"],
    good: ["ALTER TYPE order_status ADD VALUE 'refunded';", "-- prodguard: no-transaction\nALTER TYPE order_status ADD VALUE IF NOT EXISTS 'refunded';"],
  },
  check: (s, ctx) => {
    if (s.kind !== 'AlterEnumStmt' || !s.node.newVal || !ctx.inTransaction) return undefined;
    const type = stringParts(s.node.typeName).join('.');
    const value = String(s.node.newVal);
    if (ctx.postgresMajor !== undefined && ctx.postgresMajor < 12)
      return `ALTER TYPE ${type} ADD VALUE cannot run inside a transaction block before PostgreSQL 12 (target: ${ctx.postgresMajor})`;
    const i = ctx.all.indexOf(s);
    for (const later of ctx.all.slice(i + 1)) {
      if (later.kind === 'TransactionStmt' && /COMMIT|ROLLBACK$/.test(String(later.node.kind))) break;
      if (usesString(later.node, value))
        return `enum value '${value}' added to ${type} is used later in the same transaction (line ${later.line}); PostgreSQL refuses that until the ADD VALUE commits`;
    }
    return undefined;
  },
};
