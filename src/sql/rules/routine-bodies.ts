/**
 * What runs inside DO blocks and the functions/procedures a migration creates: their bodies are
 * string constants to the main parser, so a DROP TABLE, SET ROLE or EXECUTE inside them is
 * invisible to the other rules. This reads the bodies with PostgreSQL's own PL/pgSQL parser
 * (libpg-query's parsePlPgSQL) or, for LANGUAGE sql, the SQL parser, and returns:
 *   - the statements written in the body (parsed, so rules can judge them like top-level ones);
 *   - the dynamic SQL (EXECUTE, FOR … IN EXECUTE, OPEN … FOR EXECUTE, RETURN QUERY EXECUTE) with,
 *     when the string is built from literals (a constant, format('… %I', …), 'a' || x), the
 *     statements it would run with placeholders for the variable parts;
 *   - opaque bodies (other languages, unparseable PL/pgSQL) that nothing can inspect.
 * Memoised per statement in the lint context.
 */
import { parsePlPgSQLSync, parseSync } from '../parser.js';
import { stringParts } from '../facts.js';
import { asNode, unwrap, type JsonObject, type Node, type ParseResult, type PlpgsqlExpr, type PlpgsqlExprFields, type TaggedNode } from '../ast.js';
import type { LintContext, ParsedStatement } from './types.js';

export type EmbeddedStatement = TaggedNode & {
  text: string;
  /** Built at run time by EXECUTE (reconstructed from its literal parts). */
  dynamic: boolean;
};

export interface RoutineSql {
  /** 'DO block', 'function public.f', 'procedure p'. */
  where: string;
  language: string;
  statements: EmbeddedStatement[];
  /** The source of each EXECUTE'd expression. */
  dynamic: string[];
  /** The body could not be inspected (another language, or it did not parse). */
  opaque: boolean;
}

/** A statement's node and text: a ParsedStatement or an EmbeddedStatement. */
type Stmtish = TaggedNode & { text: string };

function defElems(list: Node[] | undefined): Map<string, Node | undefined> {
  const m = new Map<string, Node | undefined>();
  for (const o of list ?? []) {
    const d = asNode(o, 'DefElem');
    if (d?.defname) m.set(String(d.defname), d.arg);
  }
  return m;
}

function parseSql(text: string, dynamic: boolean): EmbeddedStatement[] {
  try {
    const r = parseSync(text);
    return (r.stmts ?? []).map((x) => {
      const tagged = unwrap(x.stmt!);
      const start = x.stmt_location ?? 0;
      return { ...tagged, text: (x.stmt_len ? text.slice(start, start + x.stmt_len) : text.slice(start)).trim(), dynamic };
    });
  } catch {
    return [];
  }
}

/** Stands for a part of an EXECUTE string only known at run time (messages show it as <run-time value>). */
export const RUNTIME_PLACEHOLDER = 'prodguard_runtime_value';

/** Rebuilds the SQL text an EXECUTE expression produces from its literal parts (a placeholder for the variable ones). */
function reconstruct(node: Node | undefined): string {
  const x = RUNTIME_PLACEHOLDER;
  if (!node) return x;
  const sval = asNode(node, 'A_Const')?.sval;
  if (sval) return String(sval.sval ?? '');
  const expr = asNode(node, 'A_Expr');
  if (expr && stringParts(expr.name).join('') === '||') return reconstruct(expr.lexpr) + reconstruct(expr.rexpr);
  const call = asNode(node, 'FuncCall');
  if (call && stringParts(call.funcname).at(-1) === 'format') {
    const [first, ...rest] = call.args ?? [];
    let i = 0;
    // %I/%s/%L take the next argument; a literal argument is known, anything else is a run-time value.
    const fmt = asNode(first, 'A_Const')?.sval;
    if (fmt) return String(fmt.sval).replace(/%(?:\d+\$)?[-]?[ILs]/g, (m) => {
      const arg = /^%\d/.test(m) ? undefined : rest[i++];
      const argSval = asNode(arg, 'A_Const')?.sval;
      const v = argSval ? String(argSval.sval) : x;
      return m.endsWith('L') ? `'${v.replace(/'/g, "''")}'` : v;
    });
  }
  const cast = asNode(node, 'TypeCast');
  if (cast) return reconstruct(cast.arg);
  return x;
}

/**
 * Parses many SQL texts with one call of the parser (one call costs more than parsing a short
 * expression), each text's statements apart, in order. A text that does not parse alone yields
 * nothing, as parseSql; when the texts do not parse together, or a statement would straddle two
 * of them, each is parsed on its own instead.
 */
function parseMany(texts: string[], dynamic: boolean): EmbeddedStatement[][] {
  const out: EmbeddedStatement[][] = texts.map(() => []);
  if (texts.length <= 1) return texts.map((t) => parseSql(t, dynamic));
  const SEP = '\n;\n';
  const combined = texts.join(SEP);
  const bytes = Buffer.from(combined, 'utf8');
  // Byte range of each text in the combined input (the parser reports byte offsets).
  const ends: number[] = [];
  let at = 0;
  for (const t of texts) {
    at += Buffer.byteLength(t, 'utf8');
    ends.push(at);
    at += SEP.length;
  }
  let r: ParseResult;
  try {
    r = parseSync(combined);
  } catch {
    return texts.map((t) => parseSql(t, dynamic));
  }
  let i = 0;
  for (const x of r.stmts ?? []) {
    const start = x.stmt_location ?? 0;
    const end = x.stmt_len ? start + x.stmt_len : bytes.length;
    while (i < ends.length && start >= ends[i]) i++;
    const text = bytes.subarray(start, end).toString('utf8').trim();
    // A statement running past its own text's end means the texts merged: parse them one by one.
    if (i >= ends.length || end > ends[i] + 1 || text === '') {
      if (text === '') continue;
      return texts.map((t) => parseSql(t, dynamic));
    }
    out[i].push({ ...unwrap(x.stmt!), text, dynamic });
  }
  return out;
}

/** Walks a PL/pgSQL parse tree collecting embedded SQL and dynamic SQL (parsed in two batches: the texts, then the dynamic statements rebuilt from them). */
function walkPlpgsql(tree: unknown, out: RoutineSql, depth: number): void {
  const items: Array<{ sql: string } | { dyn: string }> = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (v === null || typeof v !== 'object') return;
    const o = v as JsonObject;
    for (const key in o) {
      const child = o[key];
      if (child === null || typeof child !== 'object') continue;
      if (key === 'PLpgSQL_stmt_dynexecute' || key === 'PLpgSQL_stmt_dynfors') {
        const q = String((child as PlpgsqlExprFields).query?.PLpgSQL_expr?.query ?? '');
        out.dynamic.push(q);
        items.push({ dyn: q });
      } else if (key === 'dynquery') {
        const q = String((child as { PLpgSQL_expr?: PlpgsqlExpr }).PLpgSQL_expr?.query ?? '');
        out.dynamic.push(q);
        items.push({ dyn: q });
        continue;
      } else if (key === 'PLpgSQL_expr' && (child as PlpgsqlExpr).query !== undefined) {
        const e = child as PlpgsqlExpr;
        const q = String(e.query);
        // An expression without a parenthesis calls no function and holds no subquery (PostgreSQL's
        // grammar needs one for both): nothing in it for a rule to find, so it is not parsed.
        if (e.parseMode !== 0 && !q.includes('(')) continue;
        // parseMode 0: a whole SQL statement; otherwise an expression (`n > 1`) or an assignment (`x := f()`).
        items.push({ sql: e.parseMode === 0 ? q : `SELECT ${q.replace(/^\s*[\w.]+(?:\[[^\]]*\])?\s*:=/, '')}` });
        continue;
      }
      visit(child);
    }
  };
  visit(tree);
  const first = parseMany(items.map((it) => ('sql' in it ? it.sql : `SELECT ${it.dyn}`)), false);
  const rebuilt: string[] = [];
  const rebuiltAt = new Map<number, number>();
  items.forEach((it, i) => {
    // `SELECT <expression>` parses to one SelectStmt (or to nothing when it does not parse).
    const select = first[i][0];
    const target = 'dyn' in it && select?.kind === 'SelectStmt' ? asNode(select.node.targetList?.[0], 'ResTarget')?.val : undefined;
    if (target) {
      rebuiltAt.set(i, rebuilt.length);
      rebuilt.push(reconstruct(target));
    }
  });
  const second = parseMany(rebuilt, true);
  items.forEach((it, i) => {
    if ('sql' in it) {
      for (const s of first[i]) {
        out.statements.push(s);
        if (depth < 3) nested(s, out, depth + 1);
      }
    } else if (rebuiltAt.has(i)) out.statements.push(...second[rebuiltAt.get(i)!]);
  });
}

/** A DO or CREATE FUNCTION written inside a body: its own body counts too. */
function nested(s: Stmtish, out: RoutineSql, depth: number): void {
  const inner = inspect(s, depth);
  if (!inner) return;
  out.statements.push(...inner.statements);
  out.dynamic.push(...inner.dynamic);
  out.opaque ||= inner.opaque;
}

function inspect(s: Stmtish, depth: number): RoutineSql | null {
  let where: string;
  let language: string;
  let body: string | null;
  let sqlBody: Node | undefined;
  if (s.kind === 'DoStmt') {
    const d = defElems(s.node.args);
    where = 'DO block';
    language = String(asNode(d.get('language'), 'String')?.sval ?? 'plpgsql').toLowerCase();
    body = asNode(d.get('as'), 'String')?.sval ?? null;
  } else if (s.kind === 'CreateFunctionStmt') {
    const d = defElems(s.node.options);
    where = `${s.node.is_procedure ? 'procedure' : 'function'} ${stringParts(s.node.funcname).join('.')}`;
    language = String(asNode(d.get('language'), 'String')?.sval ?? 'sql').toLowerCase();
    const as = d.get('as');
    const asList = asNode(as, 'List');
    body = asList ? String(asNode(asList.items![0], 'String')?.sval ?? '') : (asNode(as, 'String')?.sval ?? null);
    sqlBody = s.node.sql_body;
  } else return null;
  const out: RoutineSql = { where, language, statements: [], dynamic: [], opaque: false };
  if (sqlBody) {
    // BEGIN ATOMIC … END: already parsed by the main parser.
    const items = asNode(sqlBody, 'List')?.items ?? [];
    const flat = items.flatMap((i) => {
      const list = asNode(i, 'List');
      return list ? (list.items ?? []) : [i];
    });
    for (const it of flat) {
      const tagged = unwrap(it);
      // An empty node (`{}`) has no type name: nothing to read.
      if (tagged.kind) out.statements.push({ ...tagged, text: s.text, dynamic: false });
    }
  } else if (language === 'plpgsql') {
    try {
      walkPlpgsql(parsePlPgSQLSync(s.text.trim().replace(/;?\s*$/, ';')), out, depth);
    } catch {
      out.opaque = true;
    }
  } else if (language === 'sql') {
    if (body !== null) {
      for (const st of parseSql(body, false)) {
        out.statements.push(st);
        if (depth < 3) nested(st, out, depth + 1);
      }
    }
  } else {
    out.opaque = true;
  }
  return out;
}

/** The inside of a DO block or a created function/procedure (null for other statements). */
export function routineSql(s: ParsedStatement, ctx: LintContext): RoutineSql | null {
  if (s.kind !== 'DoStmt' && s.kind !== 'CreateFunctionStmt') return null;
  const key = `routine-bodies:${s.start}`;
  if (!ctx.memo.has(key)) ctx.memo.set(key, inspect(s, 0));
  return ctx.memo.get(key) as RoutineSql | null;
}

/** The statement itself and every statement inside its body, each with where it sits ('' for the top level). */
export function statementsWithin(s: ParsedStatement, ctx: LintContext): Array<{ stmt: Stmtish & { dynamic?: boolean }; where: string }> {
  const r = routineSql(s, ctx);
  return [{ stmt: s, where: '' }, ...(r ? r.statements.map((e) => ({ stmt: e, where: e.dynamic ? `${r.where} (EXECUTE, built at run time)` : r.where })) : [])];
}
