/**
 * What the gateway lets through. Every statement is classified by the SQL engine (src/sql) on
 * PostgreSQL's own parse tree; without a write grant only `read` and harmless `session`
 * statements pass. On top of the classifier, the gateway refuses what would lift its second wall
 * (the upstream session's default_transaction_read_only): `BEGIN`/`START TRANSACTION READ WRITE`
 * is a plain session statement to the classifier, but here it is a way out, so it is refused.
 */
import { fingerprintSync } from 'libpg-query';
import { classifyNode, type StatementClass } from '../sql/classify.js';
import { parseStatements, type AstNode } from '../sql/parser.js';

export interface Judgement {
  /** The worst class of the statements, 'unparsed' when the parser refused the text. */
  class: StatementClass | 'unparsed' | 'empty';
  /** True when a read-only session may run it. */
  readOnlyOk: boolean;
  reason: string;
}

const READ_ONLY_CLASSES = new Set<string>(['read', 'session', 'empty']);
const RANK: Record<string, number> = { unparsed: 6, destructive: 5, privilege: 4, ddl: 3, write: 2, session: 1, read: 0, empty: -1 };

/** BEGIN / START TRANSACTION with READ WRITE (transaction_read_only = false) among its options. */
function beginsReadWrite(kind: string, node: AstNode): boolean {
  if (kind !== 'TransactionStmt') return false;
  const k = String(node.kind);
  if (k !== 'TRANS_STMT_BEGIN' && k !== 'TRANS_STMT_START') return false;
  for (const o of (node.options as AstNode[] | undefined) ?? []) {
    const d = o.DefElem;
    if (d?.defname !== 'transaction_read_only') continue;
    const c = d.arg?.A_Const ?? d.arg;
    const v = c?.ival?.ival ?? c?.Integer?.ival ?? c?.boolval?.boolval ?? c?.Boolean?.boolval;
    if (!v) return true;
  }
  return false;
}

/** A judgement plus whether it holds for every statement of the same shape (see judgeSql). */
function judgeUncached(sql: string): Judgement & { shapeOnly: boolean } {
  let stmts;
  try {
    stmts = parseStatements(sql);
  } catch (err) {
    return { class: 'unparsed', readOnlyOk: false, reason: `the SQL engine cannot parse it (${(err as Error).message}), so it cannot be proven read-only`, shapeOnly: false };
  }
  if (!stmts.length) return { class: 'empty', readOnlyOk: true, reason: 'empty query', shapeOnly: false };
  let worst: Judgement = { class: 'empty', readOnlyOk: true, reason: 'empty query' };
  for (const s of stmts) {
    let cls: StatementClass;
    let reason: string;
    try {
      ({ class: cls, reason } = classifyNode(s.kind, s.node));
    } catch {
      cls = 'write';
      reason = `${s.kind} could not be analysed, so it counts as a write`;
    }
    if (beginsReadWrite(s.kind, s.node)) {
      cls = 'privilege';
      reason = 'BEGIN … READ WRITE would lift the gateway’s read-only session';
    }
    if (RANK[cls] > RANK[worst.class]) worst = { class: cls, readOnlyOk: READ_ONLY_CLASSES.has(cls), reason };
  }
  // A lone SELECT's class depends only on its tree's shape (relations, functions, clauses), never
  // on constant values; SET, EXPLAIN options or multi-statement texts can depend on constants.
  return { ...worst, shapeOnly: stmts.length === 1 && stmts[0].kind === 'SelectStmt' && worst.class === 'read' };
}

const cache = new Map<string, Judgement>();
const shapes = new Map<string, Judgement>();
const CACHE_MAX = 5000;

function remember(map: Map<string, Judgement>, key: string, j: Judgement): void {
  if (map.size >= CACHE_MAX) map.delete(map.keys().next().value as string);
  map.set(key, j);
}

/**
 * The shape key of a text: its libpg-query fingerprint (a hash of the parse tree of every
 * statement, ignoring constant values) together with the text with its digits removed. A hit
 * needs both: the same characters apart from digits AND the same tree apart from constants, so
 * a write cannot borrow a read's verdict by changing a digit in an identifier or a dollar-quote
 * tag, or by a fingerprint collision alone.
 */
function shapeKey(sql: string): string | null {
  try {
    return `${fingerprintSync(sql)}\u0000${sql.replace(/[0-9]/g, '')}`;
  } catch {
    return null;
  }
}

/**
 * Classifies `sql`. Needs loadSqlParser(). Cached by exact text (drivers repeat statements), and
 * — for lone SELECTs proven read — by shape, so `SELECT … WHERE id = 1`, `= 2`, … (the simple
 * protocol inlines values) are parsed and classified once: a fingerprint costs about a third of a
 * parse plus classification.
 */
export function judgeSql(sql: string): Judgement {
  const hit = cache.get(sql);
  if (hit) return hit;
  const key = /^\s*(select|with|values|table)\b/i.test(sql) ? shapeKey(sql) : null;
  const byShape = key ? shapes.get(key) : undefined;
  if (byShape) return byShape;
  const { shapeOnly, ...j } = judgeUncached(sql);
  remember(cache, sql, j);
  if (key && shapeOnly) remember(shapes, key, j);
  return j;
}

/**
 * Replaces literal values in SQL text with `?` for the audit log: quoted strings (including E''
 * and dollar-quoted ones) and numbers that are not part of an identifier. Identifiers and
 * keywords stay, so the record still says what was done to what.
 */
export function maskLiterals(sql: string): string {
  return sql.replace(
    /("(?:[^"]|"")*")|((?:[eEbBxXnN]|[uU]&)?'(?:[^'\\]|''|\\.)*')|(\$([A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?\$\4\$)|((?<![A-Za-z0-9_$.])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![A-Za-z0-9_]))/g,
    (m, ident: string | undefined) => (ident ? m : '?'),
  );
}
