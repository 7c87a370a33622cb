import { stringParts } from '../facts.js';
import type { AstNode, LintRule, ParsedStatement } from './types.js';

/** NAMEDATALEN - 1: PostgreSQL keeps the first 63 bytes of an identifier and drops the rest with only a NOTICE. */
const MAX_BYTES = 63;

/** Name fields that define something wherever they appear (columns, constraints, indexes, triggers, policies, renames). */
const NAME_KEYS = new Set(['colname', 'conname', 'idxname', 'newname', 'trigname', 'policy_name']);

const last = (list: AstNode[] | undefined): string[] => stringParts(list).slice(-1);

/** The names a statement defines, in the order they appear. */
function definedNames(s: ParsedStatement): string[] {
  const n = s.node;
  const out: string[] = [];
  switch (s.kind) {
    case 'CreateStmt':
    case 'CreateForeignTableStmt':
      out.push(String(n.relation?.relname ?? n.base?.relation?.relname ?? ''));
      break;
    case 'CreateTableAsStmt':
      out.push(String(n.into?.rel?.relname ?? ''));
      break;
    case 'ViewStmt':
      out.push(String(n.view?.relname ?? ''));
      break;
    case 'CreateSeqStmt':
      out.push(String(n.sequence?.relname ?? ''));
      break;
    case 'CompositeTypeStmt':
      out.push(String(n.typevar?.relname ?? ''));
      break;
    case 'CreateEnumStmt':
    case 'CreateRangeStmt':
      out.push(...last(n.typeName));
      for (const v of (n.vals as AstNode[] | undefined) ?? []) out.push(String(v.String?.sval ?? ''));
      break;
    case 'AlterEnumStmt':
      if (n.newVal) out.push(String(n.newVal));
      break;
    case 'CreateDomainStmt':
      out.push(...last(n.domainname));
      break;
    case 'CreateFunctionStmt':
      out.push(...last(n.funcname));
      break;
    case 'CreateSchemaStmt':
      out.push(String(n.schemaname ?? ''));
      break;
    case 'CreateRoleStmt':
      out.push(String(n.role ?? ''));
      break;
  }
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (!v || typeof v !== 'object') return;
    for (const [k, child] of Object.entries(v as AstNode)) {
      if (NAME_KEYS.has(k) && typeof child === 'string') out.push(child);
      else visit(child);
    }
  };
  visit(n);
  return out.filter(Boolean);
}

/** The first 63 bytes of a name, cut on a character boundary as PostgreSQL does. */
export function truncateIdentifier(name: string): string {
  let bytes = 0;
  let out = '';
  for (const ch of name) {
    const b = Buffer.byteLength(ch);
    if (bytes + b > MAX_BYTES) break;
    bytes += b;
    out += ch;
  }
  return out;
}

export const rule: LintRule = {
  id: 'identifier-too-long',
  severity: 'warning',
  title: 'Identifier longer than 63 bytes',
  explanation:
    'PostgreSQL keeps only the first 63 bytes of a name (NAMEDATALEN) and drops the rest with a NOTICE nobody reads: the index or constraint then exists under a name the migration never wrote, a later migration that drops it by the full name keeps working only by luck, and two long names that share their first 63 bytes collide. Shorten the name.',
  examples: {
    bad: ['CREATE INDEX orders_customer_id_created_at_status_shipping_country_region_warehouse_idx ON orders (customer_id);'],
    good: ['CREATE INDEX orders_customer_created_idx ON orders (customer_id, created_at);'],
  },
  check: (s) =>
    [...new Set(definedNames(s))]
      .filter((name) => Buffer.byteLength(name) > MAX_BYTES)
      .map((name) => `identifier "${name}" is ${Buffer.byteLength(name)} bytes; PostgreSQL truncates it to 63: "${truncateIdentifier(name)}"`),
};
