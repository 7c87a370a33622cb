/**
 * What the gateway lets through. Every statement is classified by the SQL engine (src/sql) on
 * PostgreSQL's own parse tree; without a write grant only `read` and harmless `session`
 * statements pass. On top of the classifier, the gateway refuses what would lift its second wall
 * (the upstream session's default_transaction_read_only): `BEGIN`/`START TRANSACTION READ WRITE`
 * is a plain session statement to the classifier, but here it is a way out, so it is refused.
 */
import { classifyParsed, newClassifyContext, type ClassifyContext, type StatementClass } from '../sql/classify.js';
import { collectFacts, constantValue } from '../sql/facts.js';
import { functionName } from '../sql/functions.js';
import { parseStatements, type ParsedStatement } from '../sql/parser.js';
import { readPathSecret } from '../sql/read-path-secrets.js';
import { asNode, type JsonObject, type Node, type TaggedNode } from '../sql/ast.js';
import { errorMessage } from '../errors.js';
import { maskTokenSetting } from '../security/mask.js';

export interface Judgement {
  /** The worst class of the statements, 'unparsed' when the parser refused the text. */
  class: StatementClass | 'unparsed' | 'empty';
  /** True when a read-only session may run it. */
  readOnlyOk: boolean;
  reason: string;
  /**
   * Each statement with its class, in order (empty for a shape-cache hit: a lone SELECT, which
   * establishes nothing). The session records what they establish once the server ran them.
   */
  statements?: Array<{ parsed: ParsedStatement; class: StatementClass }>;
  /**
   * On a shape-cache entry: maskLiterals() of any text with that shape key. Texts sharing a key
   * differ only inside plain numbers, which maskLiterals replaces whole, so the masked text is
   * the same for all of them and the audit need not run the masking regex per statement.
   */
  masked?: string;
  /** On a cached verdict: the audit record's reason ("class: reason") as JSON, serialised once. */
  reasonJson?: string;
  /** On a shape-cache entry: `masked` as JSON, serialised once. */
  maskedJson?: string;
}

const READ_ONLY_CLASSES = new Set<string>(['read', 'session', 'empty']);
const RANK: Record<string, number> = { unparsed: 6, destructive: 5, privilege: 4, ddl: 3, write: 2, session: 1, read: 0, empty: -1 };

/** BEGIN / START TRANSACTION with READ WRITE (transaction_read_only = false) among its options. */
function beginsReadWrite(s: TaggedNode): boolean {
  if (s.kind !== 'TransactionStmt') return false;
  const node = s.node;
  const k = String(node.kind);
  if (k !== 'TRANS_STMT_BEGIN' && k !== 'TRANS_STMT_START') return false;
  for (const o of node.options ?? []) {
    const d = asNode(o, 'DefElem');
    if (d?.defname !== 'transaction_read_only') continue;
    // The value is a constant (`{ A_Const: { ival | boolval } }`) or a bare Integer / Boolean node.
    const c = asNode(d.arg, 'A_Const');
    const v = c ? (c.ival?.ival ?? c.boolval?.boolval) : (asNode(d.arg, 'Integer')?.ival ?? asNode(d.arg, 'Boolean')?.boolval);
    if (!v) return true;
  }
  return false;
}

/** The settings that hold the upstream session's read-only wall. */
const READ_ONLY_SETTINGS = new Set(['default_transaction_read_only', 'transaction_read_only']);

/** True when a SET value is explicitly "on" (on/true/yes/1 and their prefixes PostgreSQL accepts). */
function explicitlyOn(arg: Node | undefined): boolean {
  const v = constantValue(arg);
  if (typeof v === 'number') return v !== 0;
  if (typeof v !== 'string') return false;
  return ['on', 'true', 'yes', '1', 't', 'y', 'tr', 'tru', 'ye'].includes(v.trim().toLowerCase());
}

/**
 * Settings that change how the server's lexer reads the bytes of later statements. The gateway
 * lexes as UTF-8 with standard_conforming_strings on; if the session could change either, the
 * server would read statements the gateway never saw (red-team gw-024/025/027/192..194/292..294/
 * 336/340/341/367: `'a\'` or an SJIS/GBK/BIG5 character ending in 0x5C hides `COMMIT; BEGIN READ
 * WRITE; UPDATE …`). The upstream session starts with both pinned (upstream.ts); here any SET
 * that moves them away is refused. RESET / SET … TO DEFAULT restore the pinned values: fine.
 */
function changesLexer(name: string, kind: string, arg: Node | undefined): string | undefined {
  if (kind === 'VAR_RESET' || kind === 'VAR_SET_DEFAULT') return undefined;
  const v = constantValue(arg);
  if (name === 'backslash_quote') return 'SET backslash_quote changes how the server reads quotes, so the gateway could no longer see the statements it judges';
  if (name === 'standard_conforming_strings' && !(kind === 'VAR_SET_VALUE' && explicitlyOn(arg)))
    return 'standard_conforming_strings other than on makes the server read backslashes differently from the gateway, so it could run statements the gateway never saw';
  if (name === 'client_encoding' && !(kind === 'VAR_SET_VALUE' && typeof v === 'string' && isUtf8Name(v)))
    return 'a client_encoding other than UTF8 makes the server read the bytes differently from the gateway, so it could run statements the gateway never saw';
  return undefined;
}

const LEXER_SETTINGS = new Set(['backslash_quote', 'standard_conforming_strings', 'client_encoding']);

/** UTF8 under any spelling PostgreSQL accepts (case, `-`/`_` ignored; `unicode` is an alias). */
export function isUtf8Name(v: string): boolean {
  const n = v.toLowerCase().replace(/[^a-z0-9]/g, '');
  return n === 'utf8' || n === 'unicode';
}

/**
 * Settings whose context in PostgreSQL is not `user` (superuser-only, postmaster, …), read from
 * the upstream's pg_settings when the gateway starts: a fact from the database. The gateway's
 * upstream role may be a superuser, so the server would accept `SET log_statement = none` or
 * `SET allow_system_table_mods = on` (red-team gw-075..080, gw-338); no gateway user may.
 * null until read: then only the built-in list below is refused.
 */
let restrictedSettings: Set<string> | null = null;
/** Known superuser-only settings, refused even when pg_settings could not be read. */
const BUILTIN_RESTRICTED = ['log_statement', 'log_min_duration_statement', 'log_min_messages', 'log_min_error_statement', 'track_activities', 'track_counts', 'track_functions', 'track_io_timing', 'allow_system_table_mods', 'zero_damaged_pages', 'ignore_checksum_failure', 'dynamic_library_path', 'max_stack_depth', 'session_preload_libraries', 'lo_compat_privileges', 'session_replication_role', 'jit_debugging_support', 'ignore_system_indexes', 'log_parser_stats', 'log_planner_stats', 'log_executor_stats', 'log_statement_stats', 'wal_compression', 'commit_delay', 'temp_file_limit', 'update_process_title', 'compute_query_id'];

/** Sets the names of non-`user`-context settings (from pg_settings); clears cached verdicts. */
export function setRestrictedSettings(names: Iterable<string>): void {
  restrictedSettings = new Set([...names].map((n) => n.toLowerCase()));
  cache.clear();
  shapes.clear();
}

function isRestrictedSetting(name: string): boolean {
  return (restrictedSettings ?? new Set(BUILTIN_RESTRICTED)).has(name) || BUILTIN_RESTRICTED.includes(name);
}

/**
 * The gateway's own wall, independent of the classifier's classes: anything that could lift the
 * upstream session's read-only mode is refused. The classifier may rightly call `RESET ALL` a
 * plain session statement (it restores the session's starting settings, and ours start read-only
 * through startup options), but the gateway does not rely on how the upstream session was opened
 * or on the classifier's reading of PostgreSQL's reset rules: read-only mode must not be liftable
 * from inside a gateway session at all, by any spelling. So RESET ALL, RESET/SET … TO DEFAULT of
 * the read-only settings, any SET of them to a value other than an explicit "on", and
 * set_config() of them (or of a name that is not a constant) are refused here.
 */
function liftsReadOnly(s: TaggedNode): string | undefined {
  if (s.kind === 'VariableSetStmt') {
    const node = s.node;
    const k = String(node.kind ?? '');
    const name = String(node.name ?? '').toLowerCase();
    if (k === 'VAR_RESET_ALL') return 'RESET ALL could reset the gateway’s read-only session settings';
    const lexer = changesLexer(name, k, node.args?.[0]);
    if (lexer) return lexer;
    if ((k === 'VAR_SET_VALUE' || k === 'VAR_SET_CURRENT') && isRestrictedSetting(name))
      return `SET ${name} is a superuser-only or server-level setting in PostgreSQL; a gateway session may change only settings of context "user"`;
    if (READ_ONLY_SETTINGS.has(name) && !(k === 'VAR_SET_VALUE' && explicitlyOn(node.args?.[0])))
      return `${k.startsWith('VAR_RESET') ? 'RESET' : 'SET'} ${name} could lift the gateway’s read-only session`;
    return undefined;
  }
  const f = collectFacts(s.node);
  for (let i = 0; i < f.functions.length; i++) {
    if (functionName(f.functions[i]).name !== 'set_config') continue;
    const arg = f.firstArgs[i];
    if (typeof arg !== 'string' || READ_ONLY_SETTINGS.has(arg.toLowerCase())) return 'set_config() of a read-only setting could lift the gateway’s read-only session';
    if (LEXER_SETTINGS.has(arg.toLowerCase()) || isRestrictedSetting(arg.toLowerCase())) return `set_config('${arg.toLowerCase()}', …) is refused: it changes how the server reads statements or is not a user-level setting`;
  }
  return undefined;
}

/** Settings a set_config() call may change through the gateway: they only label the session. */
const HARMLESS_SET_CONFIG = new Set(['application_name']);

/**
 * The tree with every `set_config('application_name', <constant>, <constant>)` replaced by its
 * second argument, or null when there is none. The classifier refuses set_config() wholesale
 * (most settings it can reach lift a wall), but ORMs and poolers label sessions this way
 * (red-team gw-300, over-blocking); the statement is judged as if the call were its value.
 */
function withoutHarmlessSetConfig<T extends object>(node: T): { node: T; replaced: boolean } {
  let replaced = false;
  const walk = (n: unknown): unknown => {
    if (Array.isArray(n)) return n.map(walk);
    if (n === null || typeof n !== 'object') return n;
    const o = n as JsonObject;
    // Any object of the tree: a FuncCall key marks a wrapped FuncCall node.
    const fc = asNode(n as Node, 'FuncCall');
    if (fc) {
      const name = (fc.funcname ?? []).map((x) => asNode(x, 'String')?.sval).filter(Boolean);
      const args = fc.args ?? [];
      const setting = constantValue(args[0]);
      const value = constantValue(args[1]);
      // pg_dump's first statement, `set_config('search_path', '', false)`, narrows name lookup to
      // pg_catalog: harmless (red team w5d: pg_dump --schema-only through the gateway was refused).
      const harmless = typeof setting === 'string' && (HARMLESS_SET_CONFIG.has(setting.toLowerCase()) || (setting.toLowerCase() === 'search_path' && (value === '' || value === 'pg_catalog')));
      if (name.at(-1) === 'set_config' && (name.length === 1 || name[0] === 'pg_catalog') && args.length === 3 && harmless && asNode(args[1], 'A_Const') && asNode(args[2], 'A_Const') && !fc.agg_filter && !fc.over) {
        replaced = true;
        return args[1];
      }
    }
    const out: Record<string, unknown> = {};
    for (const k in o) out[k] = walk(o[k]);
    return out;
  };
  // The copy has the same shape: a wrapped FuncCall is replaced by another wrapped node.
  const tree = walk(node) as T;
  return { node: tree, replaced };
}

/** Statement kinds whose class depends on cursors or prepared statements known to the context. */
const CONTEXT_KINDS = new Set(['FetchStmt', 'ExecuteStmt', 'ExplainStmt']);

/**
 * The classification context a message is judged in: the cursors and prepared statements this
 * session established (copied, so judging never changes the session's record) and nothing else.
 * Temporary tables and routines are not carried across messages: a routine lives in the database
 * and another session can replace it, so only what is created in the same message counts.
 */
function seedContext(session: ClassifyContext | undefined): ClassifyContext {
  const ctx = newClassifyContext();
  if (session) {
    for (const [k, v] of session.cursors) ctx.cursors.set(k, { ...v });
    for (const [k, v] of session.prepared) ctx.prepared.set(k, v);
  }
  return ctx;
}

/** A judgement plus whether it may be cached by text and by shape (see judgeSql). */
function judgeUncached(sql: string, session: ClassifyContext | undefined): Judgement & { shapeOnly: boolean; cacheable: boolean } {
  let stmts: ParsedStatement[];
  try {
    stmts = parseStatements(sql);
  } catch (err) {
    return { class: 'unparsed', readOnlyOk: false, reason: `the SQL engine cannot parse it (${errorMessage(err)}), so it cannot be proven read-only`, shapeOnly: false, cacheable: true };
  }
  if (!stmts.length) return { class: 'empty', readOnlyOk: true, reason: 'empty query', shapeOnly: false, cacheable: true, statements: [] };
  let worst: Judgement = { class: 'empty', readOnlyOk: true, reason: 'empty query' };
  // One input = one message: statements see what earlier statements of the same message established.
  const ctx = seedContext(session);
  const statements: Array<{ parsed: ParsedStatement; class: StatementClass }> = [];
  for (const s of stmts) {
    let cls: StatementClass;
    let reason: string;
    try {
      ({ class: cls, reason } = classifyParsed(s, ctx));
      if (cls === 'privilege' && s.kind === 'SelectStmt') {
        const { node, replaced } = withoutHarmlessSetConfig(s.node);
        if (replaced) {
          const again = classifyParsed({ ...s, node }, seedContext(session));
          if (again.class === 'read') ({ class: cls, reason } = { class: 'session', reason: 'set_config() of application_name only labels the session; of search_path to pg_catalog only narrows name lookup' });
        }
      }
    } catch {
      cls = 'write';
      reason = `${s.kind} could not be analysed, so it counts as a write`;
    }
    if (beginsReadWrite(s)) {
      cls = 'privilege';
      reason = 'BEGIN … READ WRITE would lift the gateway’s read-only session';
    }
    let lifts: string | undefined;
    try {
      lifts = liftsReadOnly(s);
    } catch {
      lifts = `${s.kind} could not be checked for lifting read-only mode`;
    }
    if (lifts) {
      cls = 'privilege';
      reason = lifts;
    }
    // Reads that are monitoring for whoever holds the URL, but secrets through the gateway's credentials.
    if (READ_ONLY_CLASSES.has(cls)) {
      const secret = readPathSecret(s);
      if (secret) {
        cls = 'privilege';
        reason = secret;
      }
    }
    statements.push({ parsed: s, class: cls });
    if (RANK[cls] > RANK[worst.class]) worst = { class: cls, readOnlyOk: READ_ONLY_CLASSES.has(cls), reason };
  }
  // A cached verdict must not depend on context: only texts judged with nothing carried over from
  // earlier messages and with no statement that consults cursors or prepared statements are
  // cached (what one message establishes for its own later statements is fixed by its text).
  const seeded = (session?.cursors.size ?? 0) + (session?.prepared.size ?? 0) > 0;
  const cacheable = !seeded && !stmts.some((s) => CONTEXT_KINDS.has(s.kind));
  // A lone SELECT's class depends only on its tree's shape (relations, functions, clauses), never
  // on constant values; SET, EXPLAIN options or multi-statement texts can depend on constants.
  return { ...worst, statements, cacheable, shapeOnly: cacheable && stmts.length === 1 && stmts[0].kind === 'SelectStmt' && worst.class === 'read' };
}

const cache = new Map<string, Judgement>();
const shapes = new Map<string, Judgement>();
const CACHE_MAX = 5000;
/** Longer texts are not worth a shape key (and would make the cache's memory unbounded in practice). */
const SHAPE_TEXT_MAX = 4096;

function remember(map: Map<string, Judgement>, key: string, j: Judgement): void {
  if (map.size >= CACHE_MAX) map.delete(map.keys().next().value as string);
  map.set(key, j);
}

const isIdentChar = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
/** Placeholder for a number in a shape key; a control character, which a normalizable text cannot contain. */
const NUMBER = '\u0001';

/**
 * The shape key of a text: the text with each standalone decimal number replaced by a
 * placeholder, or null when the text is not plain enough to be sure what PostgreSQL's lexer
 * will make of it. Only texts made of ASCII identifiers, keywords, operators, punctuation,
 * whitespace and plain numbers qualify: any quote, `$`, backslash, comment, non-ASCII or control
 * character, or a digit run touching a letter, `_`, `$` or `.` (exponents, 0x…, 1_000, `.5`,
 * `t.1`) means no key. So two texts share a key only when they are the same characters apart
 * from the values of numeric constants PostgreSQL lexes at the same places: the same tree apart
 * from those values. One pass in JavaScript, far cheaper than a parse or a fingerprint.
 */
export function shapeKey(sql: string): string | null {
  const n = sql.length;
  if (n > SHAPE_TEXT_MAX) return null;
  let out = '';
  let from = 0;
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c >= 127 || (c < 32 && c !== 9 && c !== 10 && c !== 13)) return null;
    switch (c) {
      case 34: // "
      case 39: // '
      case 36: // $
      case 92: // backslash
      case 96: // `
        return null;
      case 45: // -- comment
        if (sql.charCodeAt(i + 1) === 45) return null;
        break;
      case 47: // /* comment
        if (sql.charCodeAt(i + 1) === 42) return null;
        break;
    }
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95) {
      // An identifier or keyword, digits inside it included: kept as it is.
      i++;
      while (i < n && isIdentChar(sql.charCodeAt(i))) i++;
      continue;
    }
    if (isDigit(c)) {
      if (i > 0 && sql.charCodeAt(i - 1) === 46) return null;
      const start = i;
      while (i < n && isDigit(sql.charCodeAt(i))) i++;
      if (sql.charCodeAt(i) === 46 && isDigit(sql.charCodeAt(i + 1))) {
        i++;
        while (i < n && isDigit(sql.charCodeAt(i))) i++;
      }
      if (i < n && (isIdentChar(sql.charCodeAt(i)) || sql.charCodeAt(i) === 46)) return null;
      out += sql.slice(from, start) + NUMBER;
      from = i;
      continue;
    }
    i++;
  }
  return out + sql.slice(from);
}

/** True when a numeric constant appears anywhere inside a function call's arguments. */
function numberInFunctionArgs(node: unknown, inArgs = false): boolean {
  if (Array.isArray(node)) return (node as unknown[]).some((v) => numberInFunctionArgs(v, inArgs));
  if (node === null || typeof node !== 'object') return false;
  const obj = node as JsonObject;
  // Any object of the tree: an A_Const or FuncCall key marks that wrapped node.
  const c = asNode(node as Node, 'A_Const');
  if (inArgs && c && (c.ival !== undefined || c.fval !== undefined)) return true;
  for (const key in obj) {
    const child = obj[key];
    if (child === null || typeof child !== 'object') continue;
    if (key === 'FuncCall' && numberInFunctionArgs(asNode(node as Node, 'FuncCall')?.args, true)) return true;
    if (numberInFunctionArgs(child, inArgs)) return true;
  }
  return false;
}

/**
 * Classifies `sql`. Needs loadSqlParser(). Cached by exact text (drivers repeat statements), and
 * — for lone SELECTs proven read — by shape, so `SELECT … WHERE id = 1`, `= 2`, … (the simple
 * protocol inlines values) are parsed and classified once.
 *
 * A verdict is shared by shape only when it cannot depend on the numbers the key hides: the
 * classifier reads constant arguments of functions (`pg_sleep(1)` is a read, `pg_sleep(100)` is
 * not; `set_config`, `nextval` look at theirs), so a SELECT with a number anywhere inside a
 * function call's arguments is cached by exact text only. Numbers elsewhere (comparisons, LIMIT,
 * type modifiers) are never consulted by the classifier for a SELECT.
 */
export function judgeSql(sql: string, session?: ClassifyContext): Judgement {
  // Both caches hold only context-free verdicts (see judgeUncached), so a hit is valid in any session.
  const hit = cache.get(sql);
  if (hit) return hit;
  const key = shapeKey(sql);
  const byShape = key !== null ? shapes.get(key) : undefined;
  if (byShape) return byShape;
  const { shapeOnly, cacheable, ...j } = judgeUncached(sql, session);
  if (cacheable) {
    j.reasonJson = JSON.stringify(`${j.class}: ${j.reason}`);
    remember(cache, sql, j);
  }
  if (key !== null && shapeOnly && !numberInFunctionArgs(j.statements?.[0]?.parsed.node)) {
    const masked = maskLiterals(sql);
    remember(shapes, key, { ...j, statements: [], masked, maskedJson: JSON.stringify(masked) });
  }
  return j;
}

/**
 * Replaces literal values in SQL text with `?` for the audit log: quoted strings (including E''
 * and dollar-quoted ones) and numbers that are not part of an identifier. Identifiers and
 * keywords stay, so the record still says what was done to what. Comment contents are dropped
 * (`/* … *\/` and `-- …` markers stay): people write passwords in comments (red-team gw-259,
 * gw-261). The value of the lockdown token setting is masked in every spelling (maskTokenSetting).
 */
export function maskLiterals(sql: string): string {
  const LIT = /("(?:[^"]|"")*")|((?:[eEbBxXnN]|[uU]&)?'(?:[^'\\]|''|\\.)*')|(\$([A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?\$\4\$)|((?<![A-Za-z0-9_$.])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![A-Za-z0-9_]))|(--[^\n]*)|(\/\*)/g;
  let out = '';
  let at = 0;
  let m: RegExpExecArray | null;
  const masked = maskTokenSetting(sql);
  while ((m = LIT.exec(masked))) {
    out += masked.slice(at, m.index);
    if (m[1]) out += m[1];
    else if (m[6] !== undefined) out += '--';
    else if (m[7]) {
      // A block comment, nested as PostgreSQL nests them: skip to its matching end.
      let depth = 1;
      let i = m.index + 2;
      while (i < masked.length && depth > 0) {
        if (masked.startsWith('/*', i)) (depth++, (i += 2));
        else if (masked.startsWith('*/', i)) (depth--, (i += 2));
        else i++;
      }
      out += '/* … */';
      LIT.lastIndex = i;
    } else out += '?';
    at = LIT.lastIndex;
  }
  return out + masked.slice(at);
}

