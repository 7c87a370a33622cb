/**
 * The text of a PL/pgSQL dynamic statement (`EXECUTE <expr>`, `FOR … IN EXECUTE <expr>`) when it
 * can be known before the code runs: the expression is built only from string constants, the
 * routine's parameters (given constant arguments at the call) and `format()` / `||` /
 * `quote_ident()` / `quote_literal()`. Anything else — a variable, a query, another function, a
 * `format()` conversion other than %s %I %L %% — leaves the text unknown (undefined), and the
 * caller fails closed. Evaluation reads PostgreSQL's parse tree of the expression, never its text.
 */
import { parseStatements, type AstNode } from './parser.js';
import { stringParts } from './facts.js';

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
function evaluate(node: AstNode | undefined, params: string[], args: ConstantArg[]): string | null | undefined {
  if (!node) return undefined;
  if (node.A_Const) {
    const c = node.A_Const;
    if (c.isnull) return null;
    if (c.sval !== undefined) return String(c.sval.sval ?? '');
    if (c.ival !== undefined) return String(c.ival.ival ?? 0);
    if (c.fval !== undefined) return String(c.fval.fval);
    return undefined;
  }
  if (node.TypeCast) {
    const names = stringParts(node.TypeCast.typeName?.names);
    if (!TEXT_TYPES.has(names[names.length - 1]) || node.TypeCast.typeName?.arrayBounds) return undefined;
    return evaluate(node.TypeCast.arg, params, args);
  }
  if (node.ParamRef) {
    const a = args[Number(node.ParamRef.number) - 1];
    return a === undefined ? undefined : String(a);
  }
  if (node.ColumnRef) {
    const fields = stringParts(node.ColumnRef.fields);
    if (fields.length !== 1 || (node.ColumnRef.fields as AstNode[]).length !== 1) return undefined;
    const i = params.indexOf(fields[0]);
    const a = i < 0 ? undefined : args[i];
    return a === undefined ? undefined : String(a);
  }
  if (node.A_Expr) {
    const e = node.A_Expr;
    if (e.kind !== 'AEXPR_OP' || stringParts(e.name).join('.') !== '||') return undefined;
    const l = evaluate(e.lexpr, params, args);
    const r = evaluate(e.rexpr, params, args);
    if (l === undefined || r === undefined) return undefined;
    return l === null || r === null ? null : l + r;
  }
  if (node.FuncCall) {
    const f = node.FuncCall;
    const parts = stringParts(f.funcname);
    if (parts.length > 2 || (parts.length === 2 && parts[0] !== 'pg_catalog') || f.agg_star || f.agg_order || f.over || f.agg_filter || f.func_variadic) return undefined;
    const values: Array<string | null> = [];
    for (const a of (f.args as AstNode[] | undefined) ?? []) {
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
  let stmts;
  try {
    stmts = parseStatements(`SELECT ${expr}`);
  } catch {
    return undefined;
  }
  const s = stmts[0];
  const targets = s?.node.targetList as AstNode[] | undefined;
  if (stmts.length !== 1 || s.kind !== 'SelectStmt' || targets?.length !== 1 || s.node.fromClause || s.node.whereClause) return undefined;
  const v = evaluate(targets[0].ResTarget?.val, params, args);
  return typeof v === 'string' ? v : undefined;
}
