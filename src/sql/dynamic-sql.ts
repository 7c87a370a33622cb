/**
 * The text of a PL/pgSQL dynamic statement (`EXECUTE <expr>`, `FOR … IN EXECUTE <expr>`) when it
 * can be known before the code runs: the expression is built only from string constants, the
 * routine's parameters (given constant arguments at the call) and `format()` / `||` /
 * `quote_ident()` / `quote_literal()`. Anything else — a variable, a query, another function, a
 * `format()` conversion other than %s %I %L %% — leaves the text unknown (undefined), and the
 * caller fails closed. Evaluation reads PostgreSQL's parse tree of the expression, never its text;
 * the tree is typed with @pgsql/types (re-exported by libpg-query), not as `any`.
 */
import type { Node } from 'libpg-query';
import { parseStatements, type ParsedStatement } from './parser.js';

/** The strings of a name list (typed: libpg-query's tree as @pgsql/types describes it). */
const names = (list: Node[] | undefined): string[] => (list ?? []).map((n) => ('String' in n ? (n.String.sval ?? '') : '')).filter((x) => x !== '');

export type ConstantArg = string | number | undefined;

/** quote_ident: always quoting gives the same name, except for the case folding quoting prevents, which quote_ident also keeps. */
const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** quote_literal as PostgreSQL writes it (E'' when the value holds a backslash). */
const quoteLiteral = (s: string): string => (s.includes('\\') ? `E'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'` : `'${s.replace(/'/g, "''")}'`);

/** format() with only %s, %I, %L and %% (no widths, flags or positions); undefined otherwise. */
function format(fmt: string, values: Array<string | null>): string | undefined {
  let out = '';
  let next = 0;
  for (let i = 0; i < fmt.length; i++) {
    const ch = fmt[i];
    if (ch !== '%') {
      out += ch;
      continue;
    }
    const conv = fmt[++i];
    if (conv === '%') {
      out += '%';
      continue;
    }
    if (conv !== 's' && conv !== 'I' && conv !== 'L') return undefined;
    if (next >= values.length) return undefined;
    const v = values[next++];
    if (conv === 's') out += v ?? '';
    else if (conv === 'I') {
      if (v === null) return undefined; // PostgreSQL raises an error
      out += quoteIdent(v);
    } else out += v === null ? 'NULL' : quoteLiteral(v);
  }
  return out;
}

const TEXT_TYPES = new Set(['text', 'varchar', 'bpchar', 'name', 'unknown']);

/**
 * Value of an expression node, or undefined when it is not built only from constants and
 * parameters. `params` are the routine's input parameter names in order ('' when unnamed);
 * `args` the call's constant arguments.
 */
function evaluate(node: Node | undefined, params: string[], args: ConstantArg[]): string | null | undefined {
  if (!node) return undefined;
  if ('A_Const' in node) {
    const c = node.A_Const;
    if (c.isnull) return null;
    if (c.sval !== undefined) return String(c.sval.sval ?? '');
    if (c.ival !== undefined) return String(c.ival.ival ?? 0);
    if (c.fval !== undefined) return String(c.fval.fval);
    return undefined;
  }
  if ('TypeCast' in node) {
    const type = names(node.TypeCast.typeName?.names);
    if (!TEXT_TYPES.has(type[type.length - 1]) || node.TypeCast.typeName?.arrayBounds) return undefined;
    return evaluate(node.TypeCast.arg, params, args);
  }
  if ('ParamRef' in node) {
    const a = args[Number(node.ParamRef.number) - 1];
    return a === undefined ? undefined : String(a);
  }
  if ('ColumnRef' in node) {
    const fields = node.ColumnRef.fields ?? [];
    const parts = names(fields);
    if (fields.length !== 1 || parts.length !== 1) return undefined;
    const i = params.indexOf(parts[0]);
    const a = i < 0 ? undefined : args[i];
    return a === undefined ? undefined : String(a);
  }
  if ('A_Expr' in node) {
    const e = node.A_Expr;
    if (e.kind !== 'AEXPR_OP' || names(e.name).join('.') !== '||') return undefined;
    const l = evaluate(e.lexpr, params, args);
    const r = evaluate(e.rexpr, params, args);
    if (l === undefined || r === undefined) return undefined;
    return l === null || r === null ? null : l + r;
  }
  if ('FuncCall' in node) {
    const f = node.FuncCall;
    const parts = names(f.funcname);
    if (parts.length > 2 || (parts.length === 2 && parts[0] !== 'pg_catalog') || f.agg_star || f.agg_order || f.over || f.agg_filter || f.func_variadic) return undefined;
    const values: Array<string | null> = [];
    for (const a of f.args ?? []) {
      const v = evaluate(a, params, args);
      if (v === undefined) return undefined;
      values.push(v);
    }
    switch (parts[parts.length - 1]) {
      case 'format':
        return values.length === 0 || values[0] === null ? undefined : format(values[0], values.slice(1));
      case 'quote_ident':
        return values.length === 1 && values[0] !== null ? quoteIdent(values[0]) : undefined;
      case 'quote_literal':
        return values.length === 1 ? (values[0] === null ? null : quoteLiteral(values[0])) : undefined;
      case 'quote_nullable':
        return values.length === 1 ? (values[0] === null ? 'NULL' : quoteLiteral(values[0])) : undefined;
      case 'concat':
        return values.map((v) => v ?? '').join('');
    }
  }
  return undefined;
}

/**
 * The SQL text a dynamic statement's expression evaluates to, or undefined when it cannot be
 * known here. `expr` is the PL/pgSQL expression as written (`format('explain %s', $1)`).
 */
export function dynamicSqlText(expr: string, params: string[], args: ConstantArg[]): string | undefined {
  let stmts: ParsedStatement[];
  try {
    stmts = parseStatements(`SELECT ${expr}`);
  } catch {
    return undefined;
  }
  const s = stmts[0];
  if (stmts.length !== 1 || s.kind !== 'SelectStmt') return undefined;
  const targets = s.node.targetList;
  if (targets?.length !== 1 || s.node.fromClause || s.node.whereClause) return undefined;
  const target = targets[0];
  const v = evaluate('ResTarget' in target ? target.ResTarget.val : undefined, params, args);
  return typeof v === 'string' ? v : undefined;
}
