/**
 * One pass over a statement's parse tree collecting what matters for safety: every function
 * called, every relation named, data-changing statements nested anywhere (writable CTEs),
 * row-locking clauses and SELECT INTO. Node types are the keys of libpg-query's JSON
 * (`{ FuncCall: {…} }`), so nothing here looks at SQL text.
 */
import { asNode, type JsonObject, type Node, type RangeVar } from './ast.js';

export interface NestedWrite {
  kind: 'InsertStmt' | 'UpdateStmt' | 'DeleteStmt' | 'MergeStmt';
  relation: string;
  hasWhere: boolean;
}

export interface Facts {
  /** Function calls, each as its name parts (['pg_catalog', 'now']). */
  functions: string[][];
  /** For each entry of `functions`, its first argument when that is a constant (string or number). */
  firstArgs: Array<string | number | undefined>;
  /** For each entry of `functions`, every argument's constant value (undefined where not a constant). */
  args: Array<Array<string | number | undefined>>;
  /** Relations named in FROM/INTO/… as 'schema.name' or 'name'. */
  relations: string[];
  /** INSERT/UPDATE/DELETE/MERGE found below the top node. */
  nestedWrites: NestedWrite[];
  locking: boolean;
  selectInto: boolean;
  cteNames: Set<string>;
}

export function relationName(rv: RangeVar | undefined): string {
  if (!rv) return '?';
  return [rv.catalogname, rv.schemaname, rv.relname].filter(Boolean).join('.');
}

export function stringParts(list: Node[] | undefined): string[] {
  return (list ?? []).map((n) => asNode(n, 'String')?.sval ?? '').filter((s) => s !== '');
}

/** The value of a constant argument (`'x'`, `42`, `0.5`, `'x'::regclass`), else undefined. */
export function constantValue(arg: Node | undefined): string | number | undefined {
  const c = asNode(arg, 'A_Const') ?? asNode(asNode(arg, 'TypeCast')?.arg, 'A_Const');
  if (!c) return undefined;
  if (c.sval !== undefined) return String(c.sval.sval ?? '');
  if (c.ival !== undefined) return Number(c.ival.ival ?? 0);
  if (c.fval !== undefined) return Number(c.fval.fval);
  return undefined;
}

/**
 * The value of an argument written as a plain literal (or a literal cast to a text type), whose
 * text is what a routine receives; casts to other types (`'x'::regclass`) are left unknown since
 * their text form can differ from the literal.
 */
export function literalValue(arg: Node | undefined): string | number | undefined {
  if (asNode(arg, 'A_Const')) return constantValue(arg);
  const cast = asNode(arg, 'TypeCast');
  const names = stringParts(cast?.typeName?.names);
  const type = names[names.length - 1];
  const bits = asNode(cast?.arg, 'A_Const')?.bsval?.bsval;
  // x'40000'::int, as large-object modes are often written.
  if (bits && ['int4', 'int8'].includes(type)) {
    const n = bits[0] === 'x' ? parseInt(bits.slice(1), 16) : bits[0] === 'b' ? parseInt(bits.slice(1), 2) : NaN;
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return asNode(cast?.arg, 'A_Const') && ['text', 'varchar'].includes(type) ? constantValue(arg) : undefined;
}

const WRITE_KINDS = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

/**
 * Facts of trees already walked: the classifier and several lint rules ask about the same
 * statement, and a tree is never changed after parsing, so one walk per tree serves them all.
 */
const walked = new WeakMap<object, Facts>();

/**
 * Collects facts from `node` (a node's fields, a wrapped node or any part of a tree), once per
 * tree. The result is shared: do not change it.
 */
export function collectFacts(node: unknown): Facts {
  if (node === null || typeof node !== 'object') return walk(node);
  let facts = walked.get(node);
  if (!facts) walked.set(node, (facts = walk(node)));
  return facts;
}

function walk(node: unknown): Facts {
  const facts: Facts = { functions: [], firstArgs: [], args: [], relations: [], nestedWrites: [], locking: false, selectInto: false, cteNames: new Set() };
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value as unknown[]) visit(v);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const obj = value as JsonObject;
    // A key that is a node type name is a wrapped node: `obj` is that Node.
    const wrapped = obj as Node;
    for (const key in obj) {
      const child = obj[key];
      if (child === null || typeof child !== 'object') continue;
      switch (key) {
        case 'FuncCall': {
          const f = asNode(wrapped, 'FuncCall')!;
          facts.functions.push(stringParts(f.funcname));
          facts.firstArgs.push(constantValue(f.args?.[0]));
          facts.args.push((f.args ?? []).map(literalValue));
          break;
        }
        case 'RangeVar':
          facts.relations.push(relationName(asNode(wrapped, 'RangeVar')));
          break;
        case 'LockingClause':
          facts.locking = true;
          break;
        case 'intoClause':
          facts.selectInto = true;
          break;
        case 'CommonTableExpr': {
          const cte = asNode(wrapped, 'CommonTableExpr')!;
          if (cte.ctename) facts.cteNames.add(cte.ctename);
          break;
        }
        default:
          if (WRITE_KINDS.has(key)) {
            const k = key as NestedWrite['kind'];
            facts.nestedWrites.push({
              kind: k,
              relation: relationName(asNode(wrapped, k)!.relation),
              hasWhere: k === 'InsertStmt' || k === 'MergeStmt' || asNode(wrapped, k)!.whereClause !== undefined,
            });
          }
      }
      visit(child);
    }
  };
  visit(node);
  return facts;
}
