/**
 * The one place that talks to PostgreSQL's own parser (libpg-query, the real PG 18 grammar
 * compiled to WASM). Everything else in src/sql works on the statements this file returns:
 * each with its AST and its exact position in the input.
 */
import { createRequire } from 'node:module';
import type { ScanResult } from 'libpg-query';
import { UsageError, errorMessage } from '../errors.js';
import { unwrap, type ParseResult, type TaggedNode } from './ast.js';

/**
 * The compiled parser as libpg-query's Emscripten build exposes it: the C entry points and the
 * WebAssembly memory. libpg-query's own wrapper (wasm/index.cjs) copies every query into that
 * memory and every JSON tree out of it one character at a time in JavaScript; here the copies
 * are TextEncoder.encodeInto and TextDecoder over the same bytes (native code), which takes a
 * third off parsing a migration folder in a short run. The wrapper is not loaded at all: it
 * would instantiate the WebAssembly a second time. Calls, result layout and error messages are
 * the wrapper's (libpg-query 18, pinned by package-lock.json; test/sql covers every path).
 */
interface PgQueryWasm {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _wasm_parse_query_raw(ptr: number): number;
  _wasm_free_parse_result(ptr: number): void;
  _wasm_parse_plpgsql(ptr: number): number;
  _wasm_scan(ptr: number): number;
  _wasm_free_string(ptr: number): void;
  getValue(ptr: number, type: 'i32'): number;
}

let wasm: PgQueryWasm | undefined;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function instance(): PgQueryWasm {
  if (!wasm) throw new Error('WASM module not initialized. Call loadModule() first.');
  return wasm;
}

/** Copies a query into the parser's memory, NUL-terminated; the caller frees it. */
function toWasm(m: PgQueryWasm, query: string): number {
  if (typeof query !== 'string') throw new TypeError(`Expected a string, got ${typeof query}`);
  const max = query.length * 3 + 1; // a UTF-16 code unit is at most 3 UTF-8 bytes
  const ptr = m._malloc(max);
  const { written } = encoder.encodeInto(query, m.HEAPU8.subarray(ptr, ptr + max - 1));
  m.HEAPU8[ptr + written] = 0;
  return ptr;
}

/** The NUL-terminated UTF-8 string at ptr. */
function fromWasm(m: PgQueryWasm, ptr: number): string {
  if (!ptr) return '';
  const heap = m.HEAPU8;
  return decoder.decode(heap.subarray(ptr, heap.indexOf(0, ptr)));
}

/** libpg-query's error, with the position where the parser stopped. */
class PgQuerySqlError extends Error {
  sqlDetails: { message: string; cursorPosition: number; fileName?: string; functionName?: string; lineNumber?: number };
  constructor(message: string, details: PgQuerySqlError['sqlDetails']) {
    super(message);
    this.name = 'SqlError';
    this.sqlDetails = details;
  }
}

/** PostgreSQL's parse tree of one or many statements (libpg-query's parseSync). */
export function parseSync(query: string): ParseResult {
  const m = instance();
  if (query === null || query === undefined) throw new Error('Query cannot be null or undefined');
  if (query === '') throw new Error('Query cannot be empty');
  const queryPtr = toWasm(m, query);
  let resultPtr = 0;
  try {
    resultPtr = m._wasm_parse_query_raw(queryPtr);
    if (!resultPtr) throw new Error('Failed to parse query: memory allocation failed');
    const treePtr = m.getValue(resultPtr, 'i32');
    const errorPtr = m.getValue(resultPtr + 8, 'i32');
    if (errorPtr) {
      const messagePtr = m.getValue(errorPtr, 'i32');
      const funcnamePtr = m.getValue(errorPtr + 4, 'i32');
      const filenamePtr = m.getValue(errorPtr + 8, 'i32');
      const lineno = m.getValue(errorPtr + 12, 'i32');
      const cursorpos = m.getValue(errorPtr + 16, 'i32');
      const message = messagePtr ? fromWasm(m, messagePtr) : 'Unknown error';
      throw new PgQuerySqlError(message, {
        message,
        cursorPosition: cursorpos > 0 ? cursorpos - 1 : 0,
        fileName: filenamePtr ? fromWasm(m, filenamePtr) : undefined,
        functionName: funcnamePtr ? fromWasm(m, funcnamePtr) : undefined,
        lineNumber: lineno > 0 ? lineno : undefined,
      });
    }
    if (!treePtr) throw new Error('No parse tree generated');
    return JSON.parse(fromWasm(m, treePtr)) as ParseResult;
  } finally {
    m._free(queryPtr);
    if (resultPtr) m._wasm_free_parse_result(resultPtr);
  }
}

/** A string-returning entry point: JSON on success, anything else is the error message. */
function stringCall(entry: (m: PgQueryWasm, ptr: number) => number, query: string, failed: (text: string) => boolean): unknown {
  const m = instance();
  const queryPtr = toWasm(m, query);
  let resultPtr = 0;
  try {
    resultPtr = entry(m, queryPtr);
    const text = fromWasm(m, resultPtr);
    if (failed(text)) throw new Error(text);
    return JSON.parse(text);
  } finally {
    m._free(queryPtr);
    if (resultPtr) m._wasm_free_string(resultPtr);
  }
}

/** PostgreSQL's PL/pgSQL parse of a CREATE FUNCTION statement (libpg-query's parsePlPgSQLSync). */
export function parsePlPgSQLSync(query: string): ParseResult {
  return stringCall((m, p) => m._wasm_parse_plpgsql(p), query, (t) => !t.startsWith('{')) as ParseResult;
}

/** PostgreSQL's scanner tokens (libpg-query's scanSync). */
export function scanSync(query: string): ScanResult {
  return stringCall((m, p) => m._wasm_scan(p), query, (t) => t.startsWith('syntax error') || t.startsWith('deparse error') || t.startsWith('ERROR')) as ScanResult;
}

/**
 * Loaded with require (libpg-query is CommonJS; an ESM import ran Node's CommonJS export lexer
 * over it on every start). Requiring it starts compiling the WebAssembly.
 */
const instantiate = createRequire(import.meta.url)('libpg-query/wasm/libpg-query.js') as () => Promise<PgQueryWasm>;
const loadModule = (): Promise<void> =>
  instantiate().then((m) => {
    wasm = m;
  });

/**
 * One statement: `kind`, its node type ('SelectStmt'), and `node`, that node's fields (the value
 * under `kind`), typed together (src/sql/ast.ts) — `if (s.kind === 'DropStmt') s.node.removeType`.
 */
export type ParsedStatement = TaggedNode & StatementSource;

/** Where a statement is in the input. */
export interface StatementSource {
  /** Source text, without leading comments/whitespace and without the trailing semicolon. */
  text: string;
  /** Character offsets in the input: [start, end). */
  start: number;
  end: number;
  /** 1-based. */
  line: number;
  column: number;
  /** The comments and whitespace between the previous statement and this one (suppressions live here). */
  leading: string;
  leadingStart: number;
  /** Maps a parse-node `location` (a UTF-8 byte offset in the input) to its 1-based line/column. */
  locate(byteLocation: number): { line: number; column: number };
}

/** Unparseable SQL: carries where the parser stopped. Exit code 2 like every usage error. */
export class SqlSyntaxError extends UsageError {
  /** 0-based character offset in the input. */
  readonly position: number;
  readonly line: number;
  readonly column: number;
  /** The parser's own message, without the position. */
  readonly detail: string;
  constructor(message: string, position: number, line: number, column: number) {
    super(`${message} at line ${line}, column ${column}`, 'sql.syntax');
    this.name = 'SqlSyntaxError';
    this.detail = message;
    this.position = position;
    this.line = line;
    this.column = column;
  }
}

let loaded: Promise<void> | undefined;
let ready = false;

/** Loads the WASM parser once; later calls return at once. */
export async function loadSqlParser(): Promise<void> {
  loaded ??= loadModule().then(() => {
    ready = true;
  });
  return loaded;
}

/** Maps the parser's UTF-8 byte offsets to JavaScript string (UTF-16) offsets. */
function byteToCharMapper(sql: string): (byte: number) => number {
  if (Buffer.byteLength(sql, 'utf8') === sql.length) return (b) => b;
  const map: number[] = [];
  let bytes = 0;
  for (let i = 0; i < sql.length; i++) {
    const code = sql.codePointAt(i)!;
    const len = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    for (let k = 0; k < len; k++) map[bytes + k] = i;
    bytes += len;
    if (code >= 0x10000) i++; // surrogate pair
  }
  map[bytes] = sql.length;
  return (b) => (b >= bytes ? sql.length : map[b]);
}

/** Returns a function giving the 1-based line and column of a character offset (binary search over line starts). */
export function lineIndex(sql: string): (offset: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = sql.indexOf('\n'); i !== -1; i = sql.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo] + 1 };
  };
}

/** 1-based line and column of a character offset. */
export function lineColumn(sql: string, offset: number): { line: number; column: number } {
  return lineIndex(sql)(offset);
}

/**
 * Skips whitespace and comments (`-- …` and nested `/* … *\/`) from `from`: a statement's
 * location in the parse tree starts right after the previous semicolon, comments included.
 * This is lexical skipping of comments only; no SQL meaning is read here.
 */
function skipTrivia(sql: string, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const c = sql[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') i++;
    else if (c === '-' && sql[i + 1] === '-') {
      while (i < to && sql[i] !== '\n') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < to && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') (depth++, (i += 2));
        else if (sql[i] === '*' && sql[i + 1] === '/') (depth--, (i += 2));
        else i++;
      }
    } else break;
  }
  return i;
}

/** Parses one or many statements. Throws SqlSyntaxError with the position on bad SQL. */
export function parseStatements(sql: string): ParsedStatement[] {
  if (!ready) throw new Error('the SQL parser is not loaded: await loadSqlParser() first');
  if (sql.trim() === '') return []; // libpg-query refuses empty input; an empty file has no statements
  let result: ParseResult;
  try {
    result = parseSync(sql);
  } catch (err) {
    const details = (err as { sqlDetails?: { message?: string; cursorPosition?: number } }).sqlDetails;
    const pos = Math.max(0, Math.min(details?.cursorPosition ?? 0, sql.length));
    const { line, column } = lineColumn(sql, pos);
    throw new SqlSyntaxError(details?.message ?? errorMessage(err), pos, line, column);
  }
  const toChar = byteToCharMapper(sql);
  const position = lineIndex(sql);
  const out: ParsedStatement[] = [];
  let previousEnd = 0;
  for (const raw of result.stmts ?? []) {
    const tagged = unwrap(raw.stmt!);
    // The first statement's location already skips leading comments; the others start right
    // after the previous semicolon. Comments above a statement begin where the previous one ended.
    const leadingStart = Math.min(previousEnd, toChar(raw.stmt_location ?? 0));
    const rawEnd = raw.stmt_len ? toChar((raw.stmt_location ?? 0) + raw.stmt_len) : sql.length;
    const start = skipTrivia(sql, toChar(raw.stmt_location ?? 0), rawEnd);
    previousEnd = rawEnd;
    let end = rawEnd;
    while (end > start && /\s/.test(sql[end - 1])) end--;
    if (sql[end - 1] === ';') end--;
    const { line, column } = position(start);
    out.push({
      ...tagged,
      text: sql.slice(start, end),
      start,
      end,
      line,
      column,
      leading: sql.slice(leadingStart, start),
      leadingStart,
      locate: (b) => position(toChar(b)),
    });
  }
  return out;
}
