/**
 * Reads the body of a function created in the same input, or of a DO block: SQL-language bodies
 * are split into statements, PL/pgSQL bodies are parsed with PostgreSQL's own PL/pgSQL parser
 * (libpg-query) and every embedded SQL statement and expression is taken out. The classifier
 * then judges those statements; a body is read-only only when every one of them is, and it has
 * no CALL, COMMIT or ROLLBACK. Dynamic SQL (EXECUTE, FOR … IN EXECUTE, OPEN … FOR EXECUTE) is
 * kept as the expression that builds the text: the classifier judges the text when it can be
 * known at the call (src/sql/dynamic-sql.ts: constants and the routine's parameters, which the
 * body must never assign), else the body is unknown. Any other language, a C function, or a
 * body that does not parse is unknown (fail closed).
 */
import { parsePlPgSQLSync } from './parser.js';
import { asNode, type CreateFunctionStmt, type DoStmt, type FunctionParameter, type JsonObject, type Node, type PlpgsqlDatum, type PlpgsqlExpr, type PlpgsqlExprFields, type PlpgsqlFunction, type PlpgsqlTree } from './ast.js';
import { errorMessage } from '../errors.js';

export type BodyStatements =
  | {
      /** Statements (and expressions as SELECTs) the body runs. */
      sql: string[];
      /** Expressions that build dynamic SQL texts (`format('…', $1)`), judged per call. */
      dynamic: string[];
      /** Input parameter names in order ('' when unnamed); undefined when the body may change them or they cannot be mapped to call arguments. */
      params?: string[];
      /** The routine sets its own search_path (`SET search_path` clause): names may not resolve as in the caller. */
      ownSearchPath: boolean;
    }
  | { unknown: string };

/** The language and body text of a CREATE FUNCTION/PROCEDURE node. */
function languageAndBody(node: CreateFunctionStmt): { language: string; body?: string; atomic?: Node; ownSearchPath: boolean } {
  let language = 'sql';
  let body: string | undefined;
  let ownSearchPath = false;
  for (const o of node.options ?? []) {
    const d = asNode(o, 'DefElem');
    if (d?.defname === 'set') ownSearchPath = true;
    if (d?.defname === 'language') language = String(asNode(d.arg, 'String')?.sval ?? '').toLowerCase();
    if (d?.defname === 'as') {
      const items = asNode(d.arg, 'List')?.items ?? (asNode(d.arg, 'String') ? [d.arg] : []);
      body = items.length === 1 ? String(asNode(items[0], 'String')?.sval ?? '') : undefined;
    }
  }
  return { language, body, atomic: node.sql_body, ownSearchPath };
}

/** The SQL text of a PL/pgSQL expression, as PostgreSQL parses it for its parse mode. */
function exprSql(e: PlpgsqlExpr): string | undefined {
  const q = String(e.query ?? '');
  const mode = Number(e.parseMode ?? 0);
  if (mode === 0) return q; // a whole statement
  if (mode === 1) return `SELECT ${q}`; // type name
  if (mode === 2) return `SELECT ${q}`; // expression
  const i = q.indexOf(':=');
  return i < 0 ? undefined : `SELECT ${q.slice(i + 2)}`; // assignment target := expression
}

/** Statement kinds of PL/pgSQL that make a body unknown. */
const OPAQUE_PLPGSQL: Record<string, string> = {
  PLpgSQL_stmt_call: 'calls a procedure',
  PLpgSQL_stmt_commit: 'commits',
  PLpgSQL_stmt_rollback: 'rolls back',
};

/** Statement kinds of PL/pgSQL whose SQL text is an expression evaluated at run time, and where it is. */
const DYNAMIC_PLPGSQL: Record<string, string> = { PLpgSQL_stmt_dynexecute: 'query', PLpgSQL_stmt_dynfors: 'query', PLpgSQL_stmt_open: 'dynquery' };

/**
 * Names a PL/pgSQL body may give a new value to, or declare over: assignment targets, INTO and
 * FETCH targets, loop variables, every declared variable; `*` when it cannot tell (GET
 * DIAGNOSTICS, FOREACH, OPEN, an assignment written with `=`). libpg-query's tree omits a `varno` of 0, so
 * names, not numbers, are compared; statements that give only a number (FOREACH, OPEN) count as `*`.
 */
function assignedNames(tree: PlpgsqlTree, skipDatums: number): Set<string> {
  const out = new Set<string>();
  const fn = (tree.plpgsql_funcs ?? []).map((f): PlpgsqlFunction => f.PLpgSQL_function ?? {});
  for (const f of fn) for (const d of (f.datums ?? []).slice(skipDatums)) for (const v of Object.values(d)) if (v?.refname) out.add(String(v.refname).toLowerCase());
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (!v || typeof v !== 'object') return;
    for (const [k, child] of Object.entries(v as JsonObject)) {
      // These name their target only by datum number (omitted when 0): they may assign anything.
      if (k === 'PLpgSQL_stmt_getdiag' || k === 'PLpgSQL_stmt_foreach_a' || k === 'PLpgSQL_stmt_open') out.add('*');
      if (k === 'PLpgSQL_stmt_assign') {
        const q = String((child as PlpgsqlExprFields | null)?.expr?.PLpgSQL_expr?.query ?? '');
        out.add(q.slice(0, Math.max(0, q.indexOf(':='))).trim().replace(/^"|"$/g, '').split(/[\s.[]/)[0].toLowerCase() || '*');
      }
      if ((k === 'target' || k === 'var') && child && typeof child === 'object') {
        for (const t of Object.values(child as PlpgsqlDatum)) {
          if (t?.refname && !String(t.refname).startsWith('(')) out.add(String(t.refname).toLowerCase());
          for (const field of t?.fields ?? []) out.add(String(field.name ?? '*').toLowerCase());
        }
      }
      visit(child);
    }
  };
  visit(fn.map((f) => f.action));
  return out;
}

function plpgsqlStatements(createText: string, params: string[] | undefined, allParams: number, ownSearchPath: boolean): BodyStatements {
  let tree: PlpgsqlTree;
  try {
    tree = parsePlPgSQLSync(createText) as PlpgsqlTree;
  } catch (e) {
    return { unknown: `its PL/pgSQL body does not parse (${errorMessage(e).split('\n')[0]})` };
  }
  const sql: string[] = [];
  const dynamic: string[] = [];
  let opaque: string | undefined;
  const visit = (v: unknown): void => {
    if (opaque) return;
    if (Array.isArray(v)) return v.forEach(visit);
    if (!v || typeof v !== 'object') return;
    for (const [k, child] of Object.entries(v as JsonObject)) {
      if (OPAQUE_PLPGSQL[k]) {
        opaque = OPAQUE_PLPGSQL[k];
        return;
      }
      const dyn = DYNAMIC_PLPGSQL[k] ? (child as PlpgsqlExprFields | null)?.[DYNAMIC_PLPGSQL[k]]?.PLpgSQL_expr : undefined;
      if (dyn) dynamic.push(String(dyn.query ?? ''));
      if (k === 'PLpgSQL_expr') {
        const s = exprSql(child as PlpgsqlExpr);
        if (s === undefined) {
          opaque = 'has an expression that cannot be read';
          return;
        }
        sql.push(s);
        continue;
      }
      visit(child);
    }
  };
  visit(tree);
  if (opaque) return { unknown: `its body ${opaque}` };
  // A parameter the body assigns, declares over or aliases no longer holds the call's argument
  // where the dynamic text is built: then the arguments are not used (the text stays unknown).
  let safeParams = params;
  if (params && dynamic.length) {
    const assigned = assignedNames(tree, allParams);
    const names = [...params.filter(Boolean), ...params.map((_p, i) => `$${i + 1}`)];
    if (assigned.has('*') || names.some((n) => assigned.has(n)) || /\balias\s+for\b/i.test(createText)) safeParams = undefined;
  }
  return { sql, dynamic, ...(safeParams ? { params: safeParams } : {}), ownSearchPath };
}

/** A DO block's statements (PL/pgSQL; other languages are unknown). */
export function doBlockStatements(node: DoStmt): BodyStatements {
  let language = 'plpgsql';
  let body: string | undefined;
  for (const o of node.args ?? []) {
    const d = asNode(o, 'DefElem');
    if (d?.defname === 'language') language = String(asNode(d.arg, 'String')?.sval ?? '').toLowerCase();
    if (d?.defname === 'as') body = asNode(d.arg, 'String')?.sval;
  }
  if (language !== 'plpgsql') return { unknown: `it is written in ${language || 'an unknown language'}` };
  if (body === undefined) return { unknown: 'its body is not visible' };
  // PostgreSQL compiles a DO block as an anonymous void function: parse it as one.
  let tag = '$pg_do$';
  for (let i = 0; body.includes(tag); i++) tag = `$pg_do${i}$`;
  return plpgsqlStatements(`CREATE FUNCTION pg_temp.do_block() RETURNS void LANGUAGE plpgsql AS ${tag}${body}${tag}`, [], 0, false);
}

/** Input parameter modes: the ones a call passes arguments to, in order. */
const INPUT_MODES = new Set(['FUNC_PARAM_IN', 'FUNC_PARAM_INOUT', 'FUNC_PARAM_DEFAULT']);

/** Statements a CREATE FUNCTION/PROCEDURE's body runs, given the statement's own source text. */
export function routineBodyStatements(node: CreateFunctionStmt, createText: string): BodyStatements {
  const { language, body, atomic, ownSearchPath } = languageAndBody(node);
  if (language === 'sql') {
    if (atomic) return { unknown: 'BEGIN ATOMIC bodies are not read here' };
    return body === undefined ? { unknown: 'its body is not visible' } : { sql: [body], dynamic: [], ownSearchPath };
  }
  if (language === 'plpgsql') {
    // PL/pgSQL numbers its datums from the parameters, in declaration order (OUT and TABLE ones too).
    const all = (node.parameters ?? []).map((p): FunctionParameter => asNode(p, 'FunctionParameter') ?? {});
    const variadic = all.some((p) => p.mode === 'FUNC_PARAM_VARIADIC');
    const names = all.filter((p) => INPUT_MODES.has(p.mode ?? 'FUNC_PARAM_DEFAULT')).map((p) => String(p.name ?? '').toLowerCase());
    return plpgsqlStatements(createText, variadic ? undefined : names, all.length, ownSearchPath);
  }
  return { unknown: `it is written in ${language || 'an unknown language'}` };
}
