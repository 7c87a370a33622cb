/**
 * Reads the body of a function created in the same input (DO blocks stay writes): SQL-language
 * bodies are split into statements, PL/pgSQL bodies are parsed with PostgreSQL's own PL/pgSQL
 * parser (libpg-query) and every embedded SQL statement and expression is taken out. The
 * classifier then judges those statements; a body is read-only only when every one of them is,
 * and it has no dynamic SQL (EXECUTE), CALL, COMMIT or ROLLBACK. Any other language, a C
 * function, or a body that does not parse is unknown (fail closed).
 */
import { parsePlPgSQLSync } from 'libpg-query';
import type { AstNode } from './parser.js';
import { errorMessage } from '../errors.js';

export type BodyStatements = { sql: string[] } | { unknown: string };

/** The language and body text of a CREATE FUNCTION/PROCEDURE node. */
function languageAndBody(node: AstNode): { language: string; body?: string; atomic?: AstNode } {
  let language = 'sql';
  let body: string | undefined;
  for (const o of (node.options as AstNode[] | undefined) ?? []) {
    const d = o.DefElem;
    if (d?.defname === 'language') language = String(d.arg?.String?.sval ?? '').toLowerCase();
    if (d?.defname === 'as') {
      const items = (d.arg?.List?.items as AstNode[] | undefined) ?? (d.arg?.String ? [d.arg] : []);
      body = items.length === 1 ? String(items[0].String?.sval ?? '') : undefined;
    }
  }
  return { language, body, atomic: node.sql_body };
}

/** The SQL text of a PL/pgSQL expression, as PostgreSQL parses it for its parse mode. */
function exprSql(e: AstNode): string | undefined {
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
  PLpgSQL_stmt_dynexecute: 'runs dynamic SQL (EXECUTE)',
  PLpgSQL_stmt_dynfors: 'loops over dynamic SQL (FOR … IN EXECUTE)',
  PLpgSQL_stmt_call: 'calls a procedure',
  PLpgSQL_stmt_commit: 'commits',
  PLpgSQL_stmt_rollback: 'rolls back',
};

function plpgsqlStatements(createText: string): BodyStatements {
  let tree: unknown;
  try {
    tree = parsePlPgSQLSync(createText);
  } catch (e) {
    return { unknown: `its PL/pgSQL body does not parse (${errorMessage(e).split('\n')[0]})` };
  }
  const sql: string[] = [];
  let opaque: string | undefined;
  const visit = (v: unknown): void => {
    if (opaque) return;
    if (Array.isArray(v)) return v.forEach(visit);
    if (!v || typeof v !== 'object') return;
    for (const [k, child] of Object.entries(v as AstNode)) {
      if (OPAQUE_PLPGSQL[k]) {
        opaque = OPAQUE_PLPGSQL[k];
        return;
      }
      if (k === 'PLpgSQL_stmt_open' && (child as AstNode)?.dynquery) {
        opaque = 'opens a cursor on dynamic SQL';
        return;
      }
      if (k === 'PLpgSQL_expr') {
        const s = exprSql(child as AstNode);
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
  return opaque ? { unknown: `its body ${opaque}` } : { sql };
}

/** Statements a CREATE FUNCTION/PROCEDURE's body runs, given the statement's own source text. */
export function routineBodyStatements(node: AstNode, createText: string): BodyStatements {
  const { language, body, atomic } = languageAndBody(node);
  if (language === 'sql') {
    if (atomic) return { unknown: 'BEGIN ATOMIC bodies are not read here' };
    return body === undefined ? { unknown: 'its body is not visible' } : { sql: [body] };
  }
  if (language === 'plpgsql') return plpgsqlStatements(createText);
  return { unknown: `it is written in ${language || 'an unknown language'}` };
}
