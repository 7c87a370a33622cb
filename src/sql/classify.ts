/**
 * The statement classifier: what a piece of SQL does to a database, decided on PostgreSQL's own
 * parse tree. `read` is only returned when it is provable from the statement alone; anything not
 * understood is `write` (fail closed). See docs/sql.md for the classes and the reasoning.
 */
import { secretFunction, secretRelation } from './secret-relations.js';
import { collectFacts, constantValue, literalValue, relationName, stringParts, type Facts } from './facts.js';
import { functionName, isDestructiveFunction, isReadOnlyFunction, PRIVILEGE_SETTINGS } from './functions.js';
import { loadSqlParser, parseStatements, type ParsedStatement } from './parser.js';
import { asNode, unwrap, type AlterTableType, type ExplainStmt, type Node, type NodeKind, type RangeVar, type TaggedNode, type VariableSetStmt } from './ast.js';
import { dynamicSqlText, type ConstantArg } from './dynamic-sql.js';
import { doBlockStatements, routineBodyStatements, type BodyStatements } from './routine-body.js';
import { safetyLimitViolation } from './session-limits.js';

export type StatementClass = 'read' | 'write' | 'ddl' | 'destructive' | 'privilege' | 'session';

export interface ClassifiedStatement {
  /** The statement's source text (no leading comments, no trailing semicolon). */
  text: string;
  class: StatementClass;
  /** Parse node type, e.g. 'DropStmt', 'SelectStmt'. */
  kind: string;
  /** Objects touched, e.g. ['table public.orders'] or ['function nextval']. */
  objects: string[];
  /** One line: why this class. */
  reason: string;
  /** Character offsets [start, end) in the input, and the 1-based line/column of start. */
  start: number;
  end: number;
  line: number;
  column: number;
}

/** Severity order, worst first. */
const RANK: Record<StatementClass, number> = { destructive: 5, privilege: 4, ddl: 3, write: 2, session: 1, read: 0 };

export function worstClass(statements: Array<{ class: StatementClass }>): StatementClass {
  let worst: StatementClass = 'read';
  for (const s of statements) if (RANK[s.class] > RANK[worst]) worst = s.class;
  return worst;
}

/**
 * What earlier statements of the same input established: cursors declared (and how their query
 * was judged) and temporary relations created. Only facts seen in this input count — a cursor or
 * temp table made by an earlier request, another pooled session or a function is unknown.
 */
export interface ClassifyContext {
  cursors: Map<string, { class: StatementClass; hold: boolean }>;
  /** Unqualified names of temporary tables and sequences created in this input. */
  temps: Set<string>;
  /** search_path was changed in this input: an unqualified name may no longer mean the temp one. */
  searchPathChanged: boolean;
  /** Prepared statements of this input and how their statement was judged. */
  prepared: Map<string, StatementClass>;
  /**
   * Functions, procedures and aggregates created in this input (by the name as written), each
   * definition made under that name (overloads and replacements alike). A call is read-only only
   * when every definition is, judged at the call: its body's statements see the temp tables of
   * this input as they are then, and dynamic SQL is judged with the call's constant arguments.
   */
  routines: Map<string, RoutineDef[]>;
  /** Roles created in this input (and not dropped): switching to one gains nothing the input did not already grant. */
  roles: Set<string>;
  /** Inside an explicit transaction block, and the temp relations created in it (gone on ROLLBACK). */
  inTransactionBlock: boolean;
  transactionTemps: Set<string>;
}

export function newClassifyContext(): ClassifyContext {
  return { cursors: new Map(), temps: new Set(), searchPathChanged: false, prepared: new Map(), routines: new Map(), roles: new Set(), inTransactionBlock: false, transactionTemps: new Set() };
}

/** One definition of a routine created in this input: a body, or an aggregate's support functions, or a built-in constructor. */
export type RoutineDef = { body: BodyStatements } | { calls: string[][] } | { builtin: true };

/** How deep routine bodies are followed into other routines of the input (recursion ends there, unknown). */
const MAX_BODY_DEPTH = 6;
let bodyDepth = 0;

/** Read-only built-in, or a routine this input created whose every definition is read-only for these arguments. */
function readOnlyCall(parts: string[], ctx: ClassifyContext | undefined, args: ConstantArg[] = []): boolean {
  if (isReadOnlyFunction(parts)) return true;
  const defs = ctx?.routines.get(parts.join('.').toLowerCase());
  return defs !== undefined && defs.length > 0 && defs.every((d) => routineVerdict(d, ctx!, args) === undefined);
}

/** Undefined when a call of this definition only reads, else why not. */
function routineVerdict(def: RoutineDef, ctx: ClassifyContext, args: ConstantArg[]): string | undefined {
  if ('builtin' in def) return undefined;
  if ('calls' in def) {
    if (bodyDepth >= MAX_BODY_DEPTH) return 'its support functions are nested too deeply to follow';
    bodyDepth++;
    try {
      const bad = def.calls.find((f) => !readOnlyCall(f, ctx));
      return bad ? `its support function ${bad.join('.')}() is not known to be read-only` : undefined;
    } finally {
      bodyDepth--;
    }
  }
  const v = bodyVerdict(def.body, ctx, args);
  return 'reason' in v ? v.reason : undefined;
}

/**
 * Judges the statements of a routine body or DO block at the moment it runs: the worst class
 * when they are all read (or session), else the reason. A body sees the routines of the input,
 * and its temp tables unless the routine sets its own search_path (or the input changed it);
 * dynamic SQL counts only when its text is known from constants and the call's arguments.
 */
function bodyVerdict(body: BodyStatements, ctx: ClassifyContext | undefined, args: ConstantArg[]): { class: 'read' | 'session' } | { reason: string } {
  if ('unknown' in body) return { reason: body.unknown };
  if (bodyDepth >= MAX_BODY_DEPTH) return { reason: 'its body calls routines too deeply nested to follow' };
  const isolated = !ctx || ctx.searchPathChanged || body.ownSearchPath;
  const inner: ClassifyContext = { ...newClassifyContext(), routines: ctx?.routines ?? new Map(), temps: new Set(isolated ? [] : ctx.temps), searchPathChanged: isolated };
  const texts = [...body.sql];
  for (const expr of body.dynamic) {
    const text = body.params ? dynamicSqlText(expr, body.params, args) : undefined;
    if (text === undefined) return { reason: 'its body runs dynamic SQL (EXECUTE) whose text is not known here' };
    texts.push(text);
  }
  let worst: 'read' | 'session' = 'read';
  bodyDepth++;
  try {
    for (const text of texts) {
      let stmts: ParsedStatement[];
      try {
        stmts = parseStatements(text);
      } catch {
        return { reason: 'a statement of its body does not parse' };
      }
      for (const st of stmts) {
        const v = safeClassify(st.kind, st.node, collectFacts(st.node), inner);
        if (v.class !== 'read' && v.class !== 'session') return { reason: `its body: ${v.reason}` };
        if (v.class === 'session') worst = 'session';
      }
    }
  } finally {
    bodyDepth--;
  }
  return { class: worst };
}

/** True when a relation reference names a temp relation created earlier in this input. */
function isTempRelation(rv: RangeVar | undefined, ctx: ClassifyContext | undefined): boolean {
  if (!ctx || !rv?.relname || rv.catalogname) return false;
  if (rv.schemaname && rv.schemaname !== 'pg_temp') return false;
  if (!rv.schemaname && ctx.searchPathChanged) return false;
  return ctx.temps.has(rv.relname);
}

/** DECLARE … WITH HOLD (CURSOR_OPT_HOLD in PostgreSQL's parsenodes.h). */
const CURSOR_OPT_HOLD = 0x20;

interface Verdict {
  class: StatementClass;
  reason: string;
}

const worse = (a: Verdict, b: Verdict | undefined): Verdict => (b && RANK[b.class] > RANK[a.class] ? b : a);

const SESSION_KINDS = new Set(['TransactionStmt', 'ClosePortalStmt', 'DeallocateStmt']);

const ALWAYS_WRITE: Record<string, string> = {
  InsertStmt: 'INSERT adds rows',
  MergeStmt: 'MERGE changes rows',
  DoStmt: 'DO runs an anonymous code block, which can do anything',
  CallStmt: 'CALL runs a procedure, which can do anything',
  ExecuteStmt: 'EXECUTE runs a prepared statement whose text is not visible here',
  ListenStmt: 'LISTEN registers the session for notifications',
  UnlistenStmt: 'UNLISTEN changes notification registrations',
  NotifyStmt: 'NOTIFY sends a notification to other sessions',
  LockStmt: 'LOCK takes a table lock that blocks other sessions',
  VacuumStmt: 'VACUUM/ANALYZE rewrite tables or statistics',
  CheckPointStmt: 'CHECKPOINT forces a server checkpoint',
  LoadStmt: 'LOAD loads a shared library into the server process',
  RefreshMatViewStmt: 'REFRESH MATERIALIZED VIEW rewrites the view and locks it',
  ClusterStmt: 'CLUSTER rewrites a table under an exclusive lock',
  ImportForeignSchemaStmt: 'IMPORT FOREIGN SCHEMA creates tables',
  CreateTableAsStmt: 'CREATE TABLE AS creates and fills a table',
};

const DDL_KINDS = new Set(
  `CreateStmt IndexStmt CreateFunctionStmt ViewStmt CreateSeqStmt AlterSeqStmt CommentStmt CreateSchemaStmt
  CreateExtensionStmt AlterExtensionStmt AlterExtensionContentsStmt CreateTrigStmt RuleStmt CreatePolicyStmt
  AlterPolicyStmt CompositeTypeStmt CreateEnumStmt AlterEnumStmt CreateRangeStmt DefineStmt CreateDomainStmt
  AlterDomainStmt AlterFunctionStmt CreateCastStmt CreateConversionStmt CreateOpClassStmt CreateOpFamilyStmt
  AlterOpFamilyStmt AlterOperatorStmt AlterTypeStmt CreateFdwStmt AlterFdwStmt CreateForeignServerStmt
  AlterForeignServerStmt CreateForeignTableStmt CreateEventTrigStmt AlterEventTrigStmt CreatePLangStmt
  CreateTransformStmt CreateAmStmt CreatePublicationStmt AlterPublicationStmt CreateSubscriptionStmt
  AlterSubscriptionStmt CreateStatsStmt AlterStatsStmt CreateTableSpaceStmt AlterTableSpaceOptionsStmt
  AlterTableMoveAllStmt CreatedbStmt AlterDatabaseStmt AlterDatabaseRefreshCollStmt AlterCollationStmt
  ReindexStmt AlterTSDictionaryStmt AlterTSConfigurationStmt ReplicaIdentityStmt AlterObjectDependsStmt`.split(/\s+/),
);

const PRIVILEGE_KINDS: Record<string, string> = {
  GrantStmt: 'GRANT/REVOKE changes who may do what',
  GrantRoleStmt: 'GRANT/REVOKE of a role changes who may do what',
  CreateRoleStmt: 'CREATE ROLE/USER creates a login or group',
  AlterRoleStmt: 'ALTER ROLE changes a role’s attributes or password',
  AlterRoleSetStmt: 'ALTER ROLE … SET changes a role’s default settings',
  AlterDefaultPrivilegesStmt: 'ALTER DEFAULT PRIVILEGES changes grants on future objects',
  ReassignOwnedStmt: 'REASSIGN OWNED changes object ownership',
  AlterOwnerStmt: 'ALTER … OWNER TO changes who owns (and fully controls) an object',
  AlterSystemStmt: 'ALTER SYSTEM changes the server configuration',
  CreateUserMappingStmt: 'CREATE USER MAPPING stores remote credentials',
  AlterUserMappingStmt: 'ALTER USER MAPPING changes remote credentials',
  SecLabelStmt: 'SECURITY LABEL changes access labels',
};

const DROP_KINDS: Record<string, string> = {
  DropdbStmt: 'DROP DATABASE deletes a whole database',
  DropRoleStmt: 'DROP ROLE/USER deletes a role; what it owned or was granted is lost',
  DropOwnedStmt: 'DROP OWNED drops every object a role owns',
  DropTableSpaceStmt: 'DROP TABLESPACE deletes a tablespace',
  DropSubscriptionStmt: 'DROP SUBSCRIPTION stops and deletes a replication subscription',
  DropUserMappingStmt: 'DROP USER MAPPING deletes stored remote credentials',
};

const DESTRUCTIVE_ALTER: Partial<Record<AlterTableType, string>> = {
  AT_DropColumn: 'drops a column and its data',
  AT_AlterColumnType: 'changes a column type (rewrites the table; may lose data, breaks apps)',
  AT_DropConstraint: 'drops a constraint',
  AT_DetachPartition: 'detaches a partition (its rows disappear from the table)',
};

const objectTypeName = (t: string | undefined): string => (t ?? 'OBJECT_UNKNOWN').replace(/^OBJECT_/, '').toLowerCase().replace(/_/g, ' ');

/** Names of the objects a DROP/COMMENT-style `objects` list refers to. */
function objectNames(objects: Node[] | undefined): string[] {
  return (objects ?? []).map((o) => {
    const list = asNode(o, 'List');
    if (list) return stringParts(list.items).join('.');
    const str = asNode(o, 'String');
    // sval is absent for an empty string: the name is then undefined, as it always was here.
    if (str) return str.sval as string;
    const owa = asNode(o, 'ObjectWithArgs');
    if (owa) return stringParts(owa.objname).join('.');
    const type = asNode(o, 'TypeName');
    if (type) return stringParts(type.names).join('.');
    return '?';
  });
}

/** The constant value of a SET's first argument (undefined for DEFAULT / no argument). */
function settingValue(args: Node[] | undefined): string | number | undefined {
  return constantValue(args?.[0]);
}

function settingValueIsOff(args: Node[] | undefined): boolean {
  const c = asNode(args?.[0], 'A_Const') ?? asNode(asNode(args?.[0], 'DefElem')?.arg, 'A_Const');
  if (!c) return false;
  if (c.ival !== undefined) return !c.ival.ival;
  if (c.boolval !== undefined) return !c.boolval.boolval;
  const s = String(c.sval?.sval ?? '').toLowerCase();
  return s === 'off' || s === 'false' || s === 'no' || s === '0' || s === 'f' || s === 'n';
}

/** SET ROLE / SESSION AUTHORIZATION (and their RESET): privilege unless it provably gains nothing. */
function identitySwitch(name: string, kind: string, node: VariableSetStmt, ctx: ClassifyContext | undefined): Verdict {
  const label = `${kind.startsWith('VAR_RESET') ? 'RESET' : 'SET'} ${name.toUpperCase()}`;
  const value = settingValue(node.args);
  // RESET / DEFAULT / NONE go back to the identity the connection started with (its login, or the
  // role its login is configured to start as): nothing the connection's credentials did not already give.
  if (kind.startsWith('VAR_RESET') || kind === 'VAR_SET_DEFAULT' || (name === 'role' && typeof value === 'string' && value.toLowerCase() === 'none'))
    return { class: 'session', reason: `${label} returns to the identity the connection logged in with` };
  if (typeof value === 'string' && ctx?.roles.has(value))
    return { class: 'session', reason: `${label} switches to role ${value}, created in this input (it holds only what this input granted)` };
  return { class: 'privilege', reason: `${label} changes the identity whose privileges apply` };
}

function classifySet(node: VariableSetStmt, ctx?: ClassifyContext): Verdict {
  const name = String(node.name ?? '').toLowerCase();
  const kind = String(node.kind ?? '');
  // RESET ALL leaves role and session authorization alone (GUC_NO_RESET_ALL) and restores the
  // read-only default the session started with (role, database, connection options).
  if (kind === 'VAR_RESET_ALL') return { class: 'session', reason: 'RESET ALL restores the session’s starting settings' };
  if (kind === 'VAR_SET_MULTI' && name === 'transaction') {
    const ro = node.args?.find((a) => asNode(a, 'DefElem')?.defname === 'transaction_read_only');
    if (ro && settingValueIsOff([ro])) return { class: 'privilege', reason: 'SET TRANSACTION READ WRITE lifts read-only mode' };
    return { class: 'session', reason: 'SET TRANSACTION changes this transaction’s mode' };
  }
  if (kind === 'VAR_SET_MULTI' && name === 'session characteristics') {
    const ro = node.args?.find((a) => asNode(a, 'DefElem')?.defname === 'transaction_read_only');
    if (ro && settingValueIsOff([ro])) return { class: 'privilege', reason: 'SET SESSION CHARACTERISTICS … READ WRITE lifts read-only mode' };
    return { class: 'session', reason: 'SET SESSION CHARACTERISTICS changes session defaults' };
  }
  if (name === 'role' || name === 'session_authorization' || name === 'session authorization') return identitySwitch(name, kind, node, ctx);
  if (name === 'default_transaction_read_only' || name === 'transaction_read_only') {
    if (kind.startsWith('VAR_RESET') || kind === 'VAR_SET_DEFAULT' || settingValueIsOff(node.args))
      return { class: 'privilege', reason: `${name} off lifts read-only mode` };
    return { class: 'session', reason: `${name} on makes the session read-only` };
  }
  if (kind === 'VAR_SET_VALUE') {
    const removes = safetyLimitViolation(name, settingValue(node.args));
    if (removes) return { class: 'privilege', reason: removes };
  }
  // row_security = off never shows a row a policy hides: queries a policy applies to fail instead (pg_dump sets it).
  if (name === 'row_security') return { class: 'session', reason: `row_security ${settingValueIsOff(node.args) ? 'off makes queries that a row-level security policy applies to fail instead of filtering; it never reveals rows' : 'on keeps row-level security enforced'}` };
  if (name === 'session_replication_role' && kind === 'VAR_SET_VALUE' && String(settingValue(node.args)).toLowerCase() === 'origin')
    return { class: 'session', reason: 'session_replication_role = origin is the default: triggers fire' };
  if (PRIVILEGE_SETTINGS.has(name)) return { class: 'privilege', reason: `setting ${name} weakens a safety guarantee (triggers, row security or isolation)` };
  return { class: 'session', reason: `${kind.startsWith('VAR_RESET') ? 'RESET' : 'SET'} ${name || 'setting'} changes only this session` };
}

/** Verdict from what a statement's tree contains (functions, writable CTEs, locks). */
function factsVerdict(f: Facts, what: string, ctx?: ClassifyContext): Verdict | undefined {
  let v: Verdict | undefined;
  const up = (next: Verdict) => (v = v ? worse(v, next) : next);
  for (const w of f.nestedWrites) {
    if (ctx && !w.relation.includes('.') && !ctx.searchPathChanged && ctx.temps.has(w.relation)) continue;
    if (ctx && w.relation.startsWith('pg_temp.') && ctx.temps.has(w.relation.slice(8))) continue;
    const verb = w.kind.replace('Stmt', '').toUpperCase();
    if (!w.hasWhere) up({ class: 'destructive', reason: `${verb} without WHERE on ${w.relation} (inside ${what})` });
    else up({ class: 'write', reason: `${what} contains a data-changing ${verb} on ${w.relation} (writable CTE)` });
  }
  for (const r of f.relations) {
    const secret = secretRelation(r);
    if (secret) up({ class: 'privilege', reason: `${what} ${secret}` });
  }
  if (f.selectInto) up({ class: 'write', reason: 'SELECT INTO creates a table' });
  if (f.locking) up({ class: 'write', reason: `${what} … FOR UPDATE/SHARE locks rows` });
  for (let i = 0; i < f.functions.length; i++) {
    const parts = f.functions[i];
    const arg = f.firstArgs[i];
    const { name, schema } = functionName(parts);
    const builtin = schema === undefined || schema === 'pg_catalog';
    // A sequence step on a temporary sequence created in this input changes only this session.
    if (builtin && (name === 'nextval' || name === 'setval') && typeof arg === 'string' && ctx && !ctx.searchPathChanged && ctx.temps.has(arg.replace(/^pg_temp\./, ''))) continue;
    // A short constant sleep reads nothing and writes nothing; a long one holds a snapshot.
    if (builtin && name === 'pg_sleep' && typeof arg === 'number' && arg <= 1) continue;
    const secret = secretFunction(schema, name);
    if (secret) {
      up({ class: 'privilege', reason: `${what} calls ${secret}` });
      continue;
    }
    if (isDestructiveFunction(parts)) up({ class: 'destructive', reason: `${name}() is an administrative function that kills sessions or destroys server state` });
    else if (name === 'set_config') up({ class: 'privilege', reason: 'set_config() changes settings (possibly role or read-only mode)' });
    else if (!readOnlyCall(parts, ctx, f.args[i])) up({ class: 'write', reason: `${parts.join('.')}() is not a known read-only function` });
  }
  return v;
}

/** Classes of statements whose nested expressions do not run now (bodies, defaults, definitions). */
const DEFERRED_BODY = new Set(['CreateFunctionStmt', 'ViewStmt', 'RuleStmt', 'CreateTrigStmt', 'CreatePolicyStmt', 'AlterPolicyStmt', 'CreateStmt', 'DefineStmt', 'CreateDomainStmt', 'CommentStmt']);

/** True when EXPLAIN's options ask for ANALYZE (`ANALYZE`, `(ANALYZE)`, `(ANALYZE on|true|1)`). */
export function explainAnalyze(node: ExplainStmt): boolean {
  for (const o of node.options ?? []) {
    const d = asNode(o, 'DefElem');
    if (d?.defname !== 'analyze') continue;
    if (!d.arg) return true;
    const int = asNode(d.arg, 'Integer');
    if (int) return Boolean(int.ival);
    const bool = asNode(d.arg, 'Boolean');
    if (bool) return Boolean(bool.boolval);
    const s = String(asNode(d.arg, 'String')?.sval ?? 'true').toLowerCase();
    return !['false', 'off', '0', 'no'].includes(s);
  }
  return false;
}

/**
 * The class of one statement node: its type name and its fields (a ParsedStatement's `kind` and
 * `node`, or an unwrapped Node's). Typed together from here on, so each case reads its own fields.
 */
export function classifyNode(kindName: NodeKind, fields: TaggedNode['node'], known?: Facts, ctx?: ClassifyContext): Verdict {
  const { kind, node } = { kind: kindName, node: fields } as TaggedNode;
  const what = kind.replace(/Stmt$/, '').toUpperCase();
  let memo = known;
  const facts = () => (memo ??= collectFacts(node));
  switch (kind) {
    case 'SelectStmt': {
      const v = factsVerdict(facts(), 'SELECT', ctx);
      if (v) return v;
      if (node.valuesLists && !node.targetList) return { class: 'read', reason: 'VALUES only computes rows' };
      return { class: 'read', reason: 'SELECT that only reads and calls only known read-only functions' };
    }
    case 'VariableShowStmt':
      return { class: 'read', reason: 'SHOW only reads a setting' };
    case 'FetchStmt': {
      const verb = node.ismove ? 'MOVE' : 'FETCH';
      const cursor = ctx?.cursors.get(String(node.portalname ?? ''));
      if (!cursor) return { class: 'write', reason: `${verb} from cursor ${node.portalname ?? '?'} whose DECLARE is not in this input, so its query is unknown` };
      return { class: cursor.class, reason: `${verb} runs the query of cursor ${node.portalname}, declared in this input as ${cursor.class}` };
    }
    case 'ExecuteStmt': {
      const prepared = ctx?.prepared.get(String(node.name));
      if (prepared === undefined) break;
      return worse({ class: prepared, reason: `EXECUTE runs ${node.name}, prepared in this input as ${prepared}` }, factsVerdict(facts(), 'EXECUTE', ctx));
    }
    case 'ConstraintsSetStmt':
      // IMMEDIATE fires the deferred constraint triggers now, which run foreign-key checks and user trigger code.
      if (node.deferred) return { class: 'session', reason: 'SET CONSTRAINTS … DEFERRED only postpones this transaction’s checks' };
      return { class: 'write', reason: 'SET CONSTRAINTS … IMMEDIATE fires the deferred constraint triggers now' };
    case 'InsertStmt':
    case 'MergeStmt':
      if (isTempRelation(node.relation, ctx)) {
        const base: Verdict = { class: 'session', reason: `${what} writes only the temporary table ${relationName(node.relation)} created in this input` };
        return worse(base, factsVerdict(facts(), what, ctx));
      }
      break;
    case 'UpdateStmt':
    case 'DeleteStmt': {
      const verb = kind === 'UpdateStmt' ? 'UPDATE' : 'DELETE';
      const rel = relationName(node.relation);
      if (isTempRelation(node.relation, ctx))
        return worse({ class: 'session', reason: `${verb} writes only the temporary table ${rel} created in this input` }, factsVerdict(facts(), verb, ctx));
      const base: Verdict = node.whereClause
        ? { class: 'write', reason: `${verb} on ${rel} with WHERE` }
        : { class: 'destructive', reason: `${verb} without WHERE on ${rel} (every row)` };
      return worse(base, factsVerdict(facts(), verb, ctx));
    }
    case 'ExplainStmt': {
      const inner = node.query!;
      const explained = unwrap(inner);
      if (explainAnalyze(node)) {
        const v = classifyNode(explained.kind, explained.node, undefined, ctx);
        return { class: v.class, reason: `EXPLAIN ANALYZE executes the statement: ${v.reason}` };
      }
      if (explained.kind === 'ExecuteStmt') {
        const prepared = ctx?.prepared.get(String(explained.node.name));
        if (prepared === undefined) return { class: 'write', reason: 'EXPLAIN EXECUTE plans a prepared statement whose text is not visible here' };
        if (prepared !== 'read') return { class: 'write', reason: `EXPLAIN EXECUTE plans ${explained.node.name}, prepared in this input as ${prepared}` };
      }
      // Planning can evaluate functions (constant folding), so unknown functions still count.
      const f = collectFacts(inner);
      const unknown = f.functions.find((p, i) => !readOnlyCall(p, ctx, f.args[i]));
      if (unknown) return { class: 'write', reason: `EXPLAIN plans ${unknown.join('.')}(), which the planner may evaluate` };
      return { class: 'read', reason: 'EXPLAIN without ANALYZE only plans the statement' };
    }
    case 'CopyStmt': {
      const rel = node.relation ? relationName(node.relation) : 'a query';
      if (node.is_from) return { class: 'write', reason: `COPY FROM loads rows into ${rel}` };
      if (node.filename || node.is_program) return { class: 'write', reason: 'COPY TO a server file or program writes on the database server' };
      if (node.query) {
        const inner = unwrap(node.query);
        const v = classifyNode(inner.kind, inner.node, undefined, ctx);
        return v.class === 'read' ? { class: 'read', reason: 'COPY (query) TO STDOUT only reads' } : { class: v.class, reason: `COPY runs a query: ${v.reason}` };
      }
      const secret = node.relation ? secretRelation(rel) : null;
      if (secret) return { class: 'privilege', reason: `COPY ${secret}` };
      return { class: 'read', reason: `COPY ${rel} TO STDOUT only reads` };
    }
    case 'DeclareCursorStmt':
    case 'PrepareStmt': {
      const inner = unwrap(node.query!);
      const v = classifyNode(inner.kind, inner.node, undefined, ctx);
      if (kind === 'DeclareCursorStmt' && (Number(node.options ?? 0) & CURSOR_OPT_HOLD))
        return worse({ class: 'write', reason: 'DECLARE … WITH HOLD keeps the cursor’s result on the server after the transaction ends, until CLOSE' }, v);
      return { class: v.class, reason: `${kind === 'PrepareStmt' ? 'PREPARE' : 'DECLARE'} of a statement that is ${v.class}: ${v.reason}` };
    }
    case 'VariableSetStmt':
      return classifySet(node, ctx);
    case 'DoStmt': {
      const v = bodyVerdict(doBlockStatements(node), ctx, []);
      if ('reason' in v) return { class: 'write', reason: `DO runs an anonymous code block: ${v.reason}` };
      return { class: v.class, reason: 'DO block whose every statement only reads' };
    }
    case 'CallStmt': {
      const call = node.funccall;
      const parts = stringParts(call?.funcname);
      if (!parts.length || !readOnlyCall(parts, ctx, (call?.args ?? []).map(literalValue))) break;
      return factsVerdict(facts(), 'CALL', ctx) ?? { class: 'read', reason: `CALL of procedure ${parts.join('.')}, created in this input with a body that only reads` };
    }
    case 'LockStmt':
      // ACCESS SHARE is the lock every SELECT takes (mode 1, AccessShareLock); any stronger one blocks writers or DDL.
      if (Number(node.mode) === 1) return { class: 'read', reason: 'LOCK … IN ACCESS SHARE MODE takes only the lock a SELECT takes' };
      break;
    case 'DiscardStmt':
      return node.target === 'DISCARD_ALL'
        ? { class: 'privilege', reason: 'DISCARD ALL also resets role and read-only settings' }
        : { class: 'session', reason: 'DISCARD only drops session state' };
    case 'TransactionStmt': {
      const k = String(node.kind).replace('TRANS_STMT_', '');
      // Two-phase commit outlives the session: a prepared transaction keeps its locks until resolved.
      if (k === 'PREPARE' || k === 'COMMIT_PREPARED' || k === 'ROLLBACK_PREPARED')
        return { class: 'write', reason: `${k.replace(/_/g, ' ')} TRANSACTION acts on a two-phase transaction that outlives the session` };
      return { class: 'session', reason: `${k.replace(/_/g, ' ')} controls the transaction` };
    }
    case 'DropStmt': {
      const type = objectTypeName(node.removeType);
      const cascade = node.behavior === 'DROP_CASCADE' ? ' with CASCADE (also drops everything that depends on it)' : '';
      return { class: 'destructive', reason: `DROP ${type.toUpperCase()} ${objectNames(node.objects).join(', ')}${cascade}` };
    }
    case 'TruncateStmt': {
      const rels = (node.relations ?? []).map((r) => relationName(asNode(r, 'RangeVar'))).join(', ');
      return { class: 'destructive', reason: `TRUNCATE deletes every row of ${rels}${node.behavior === 'DROP_CASCADE' ? ' and of every table referencing it (CASCADE)' : ''}` };
    }
    case 'RenameStmt':
      return { class: 'destructive', reason: `renaming a ${objectTypeName(node.renameType)} breaks every application and query that uses the old name` };
    case 'AlterObjectSchemaStmt':
      return { class: 'destructive', reason: 'moving an object to another schema breaks every application that uses the old name' };
    case 'AlterTableStmt': {
      const rel = relationName(node.relation);
      for (const c of node.cmds ?? []) {
        const cmd = asNode(c, 'AlterTableCmd');
        const sub = cmd?.subtype;
        if (sub && DESTRUCTIVE_ALTER[sub]) return { class: 'destructive', reason: `ALTER TABLE ${rel} ${DESTRUCTIVE_ALTER[sub]}${cmd.name ? ` (${cmd.name})` : ''}` };
      }
      for (const c of node.cmds ?? []) {
        const sub = asNode(c, 'AlterTableCmd')?.subtype;
        if (sub === 'AT_ChangeOwner') return { class: 'privilege', reason: `ALTER TABLE ${rel} OWNER TO changes who owns the table` };
        if (sub === 'AT_DisableRowSecurity' || sub === 'AT_NoForceRowSecurity') return { class: 'privilege', reason: `ALTER TABLE ${rel} turns row-level security off, exposing every row to every role with access` };
      }
      return worse({ class: 'ddl', reason: `ALTER TABLE ${rel} changes the schema` }, destructiveOnly(factsVerdict(facts(), 'ALTER TABLE')));
    }
    case 'AlterDatabaseSetStmt': {
      // setstmt holds the VariableSetStmt's fields bare (checked against the parser's output).
      const v = classifySet(node.setstmt ?? {});
      return v.class === 'privilege' ? v : { class: 'ddl', reason: 'ALTER DATABASE … SET changes database defaults' };
    }
  }
  if (SESSION_KINDS.has(kind)) return { class: 'session', reason: `${what} only affects this session` };
  if (DROP_KINDS[kind]) return { class: 'destructive', reason: DROP_KINDS[kind] };
  if (PRIVILEGE_KINDS[kind]) return { class: 'privilege', reason: PRIVILEGE_KINDS[kind] };
  if (ALWAYS_WRITE[kind]) return worse({ class: 'write', reason: ALWAYS_WRITE[kind] }, factsVerdict(facts(), what, ctx));
  if (DDL_KINDS.has(kind)) {
    const base: Verdict = { class: 'ddl', reason: `${what} changes the schema` };
    return DEFERRED_BODY.has(kind) ? base : worse(base, destructiveOnly(factsVerdict(facts(), what)));
  }
  return { class: 'write', reason: `${kind} is not a statement prodguard knows to be safe, so it counts as a write` };
}

const destructiveOnly = (v: Verdict | undefined): Verdict | undefined => (v && (v.class === 'destructive' || v.class === 'privilege') ? v : undefined);

/** Objects a statement touches, for humans and audit records. */
function objectsOf(s: TaggedNode, f: Facts): string[] {
  const { kind, node } = s;
  const out = new Set<string>();
  if (kind === 'DropStmt') for (const n of objectNames(node.objects)) out.add(`${objectTypeName(node.removeType)} ${n}`);
  if (kind === 'DropdbStmt' || kind === 'CreatedbStmt' || kind === 'AlterDatabaseStmt') out.add(`database ${node.dbname}`);
  if (kind === 'DropRoleStmt') for (const r of node.roles ?? []) out.add(`role ${asNode(r, 'RoleSpec')?.rolename ?? '?'}`);
  // CREATE ROLE names the role as a string, ALTER ROLE as a RoleSpec's fields (bare, as the parser gives them).
  if (kind === 'CreateRoleStmt' || kind === 'AlterRoleStmt') out.add(`role ${typeof node.role === 'string' ? node.role : (node.role?.rolename ?? '?')}`);
  if (kind === 'IndexStmt' && node.idxname) out.add(`index ${node.idxname}`);
  if (kind === 'CreateFunctionStmt') out.add(`function ${stringParts(node.funcname).join('.')}`);
  if (kind === 'RenameStmt' && !node.relation && node.object) out.add(`${objectTypeName(node.renameType)} ${objectNames([node.object]).join('')}`);
  const relation = relationField(node);
  if (relation?.relname) out.add(`table ${relationName(relation)}`);
  for (const w of f.nestedWrites) out.add(`table ${w.relation}`);
  for (const r of f.relations) if (!f.cteNames.has(r)) out.add(`table ${r}`);
  for (const p of f.functions) out.add(`function ${p.join('.')}`);
  return [...out];
}

/**
 * The `relation` of any statement that has one (CREATE/ALTER TABLE, INSERT, COPY, CREATE INDEX,
 * …): in @pgsql/types every statement's `relation` is a RangeVar (only RangeTableSample, an
 * expression, has a Node there), so the field is read across statement types at once.
 */
function relationField(node: object): RangeVar | undefined {
  return (node as { relation?: RangeVar }).relation;
}

/** Never throws: a tree shape this code did not expect is a write (fail closed). */
function safeClassify(kind: NodeKind, node: TaggedNode['node'], facts: Facts, ctx: ClassifyContext): Verdict {
  try {
    return classifyNode(kind, node, facts, ctx);
  } catch {
    return { class: 'write', reason: `${kind} could not be analysed, so it counts as a write` };
  }
}

/** The support functions of CREATE AGGREGATE (state, final, combine, (de)serialise, moving-aggregate). */
const AGGREGATE_SUPPORT = new Set(['sfunc', 'finalfunc', 'combinefunc', 'serialfunc', 'deserialfunc', 'msfunc', 'minvfunc', 'mfinalfunc']);

function addRoutine(ctx: ClassifyContext, name: string, def: RoutineDef): void {
  const key = name.toLowerCase();
  ctx.routines.set(key, [...(ctx.routines.get(key) ?? []), def]);
}

/** Records what a statement establishes for the statements after it in the same input. */
function remember(s: TaggedNode, v: Verdict, ctx: ClassifyContext, text: string): void {
  const { kind, node } = s;
  const addTemp = (name: string) => {
    ctx.temps.add(name);
    if (ctx.inTransactionBlock) ctx.transactionTemps.add(name);
  };
  switch (kind) {
    case 'PrepareStmt':
      ctx.prepared.set(String(node.name), v.class);
      break;
    case 'DeallocateStmt':
      if (node.isall || !node.name) ctx.prepared.clear();
      else ctx.prepared.delete(String(node.name));
      break;
    case 'CreateFunctionStmt':
      addRoutine(ctx, stringParts(node.funcname).join('.'), { body: routineBodyStatements(node, text) });
      break;
    case 'DefineStmt':
      // An aggregate runs its support functions: read-only when every one of them is.
      if (node.kind === 'OBJECT_AGGREGATE') {
        const calls = (node.definition ?? [])
          .map((d) => asNode(d, 'DefElem'))
          .filter((d) => AGGREGATE_SUPPORT.has(String(d?.defname)))
          .map((d) => stringParts(asNode(d?.arg, 'TypeName')?.names ?? asNode(d?.arg, 'List')?.items));
        addRoutine(ctx, stringParts(node.defnames).join('.'), { calls });
      }
      break;
    case 'CreateRangeStmt': {
      // A range type's constructors are built-in C functions named after the type and its multirange.
      const name = stringParts(node.typeName).join('.').toLowerCase();
      if (!ctx.routines.has(name)) ctx.routines.set(name, [{ builtin: true }]);
      const multi = (node.params ?? []).map((p) => asNode(p, 'DefElem')).find((d) => d?.defname === 'multirange_type_name');
      const mname = multi ? stringParts(asNode(multi.arg, 'TypeName')?.names ?? asNode(multi.arg, 'List')?.items).join('.').toLowerCase() : name.includes('range') ? name.replace(/range(?!.*range)/, 'multirange') : `${name}_multirange`;
      if (mname && !ctx.routines.has(mname)) ctx.routines.set(mname, [{ builtin: true }]);
      break;
    }
    case 'CreateRoleStmt':
      if (node.role) ctx.roles.add(String(node.role));
      break;
    case 'DropRoleStmt':
      for (const r of node.roles ?? []) ctx.roles.delete(String(asNode(r, 'RoleSpec')?.rolename ?? ''));
      break;
    case 'RenameStmt':
      if (node.relation?.relname && isTempRelation(node.relation, ctx)) ctx.temps.delete(String(node.relation.relname));
      if (node.renameType === 'OBJECT_ROLE' && ctx.roles.delete(String(node.subname))) ctx.roles.add(String(node.newname));
      break;
    case 'DeclareCursorStmt':
      ctx.cursors.set(String(node.portalname), { class: v.class, hold: Boolean(Number(node.options ?? 0) & CURSOR_OPT_HOLD) });
      break;
    case 'ClosePortalStmt':
      if (node.portalname) ctx.cursors.delete(String(node.portalname));
      else ctx.cursors.clear();
      break;
    case 'DiscardStmt':
      // DISCARD ALL also closes every cursor and deallocates every prepared statement.
      if (node.target === 'DISCARD_ALL') {
        ctx.cursors.clear();
        ctx.prepared.clear();
      }
      if (node.target === 'DISCARD_TEMP' || node.target === 'DISCARD_ALL') ctx.temps.clear();
      break;
    case 'TransactionStmt': {
      const k = String(node.kind);
      if (k === 'TRANS_STMT_BEGIN' || k === 'TRANS_STMT_START') {
        ctx.inTransactionBlock = true;
        ctx.transactionTemps.clear();
      }
      // A rollback (to a savepoint, conservatively) undoes the temp tables created in the transaction.
      if (/ROLLBACK|PREPARE$/.test(k)) for (const t of ctx.transactionTemps) ctx.temps.delete(t);
      // Ending the transaction closes every cursor not declared WITH HOLD.
      if (/COMMIT|ROLLBACK$|PREPARE$/.test(k) && k !== 'TRANS_STMT_COMMIT_PREPARED' && k !== 'TRANS_STMT_ROLLBACK_PREPARED') {
        for (const [name, c] of ctx.cursors) if (!c.hold) ctx.cursors.delete(name);
        ctx.inTransactionBlock = false;
        ctx.transactionTemps.clear();
      }
      break;
    }
    case 'CreateStmt':
    case 'CreateSeqStmt':
    case 'CreateTableAsStmt': {
      const rv = kind === 'CreateStmt' ? node.relation : kind === 'CreateSeqStmt' ? node.sequence : node.into?.rel;
      if (rv?.relpersistence === 't' && !rv.catalogname && (!rv.schemaname || rv.schemaname === 'pg_temp')) addTemp(String(rv.relname));
      // A permanent relation of the same name means this input lost track of which one a name resolves to.
      else if (rv?.relname) ctx.temps.delete(String(rv.relname));
      break;
    }
    case 'DropStmt':
      for (const o of node.objects ?? []) {
        const list = asNode(o, 'List');
        const parts = list ? stringParts(list.items) : [];
        if (parts.length) ctx.temps.delete(parts[parts.length - 1]);
      }
      break;
    case 'VariableSetStmt':
      if (String(node.name ?? '').toLowerCase() === 'search_path') ctx.searchPathChanged = true;
      break;
  }
}

/**
 * Records in `ctx` what a statement judged `cls` establishes (a cursor, a prepared statement, a
 * temp table, a routine). classifyParsed does this itself unless told not to; a caller that
 * learns whether each statement succeeded (a gateway) records only the ones that did.
 */
export function rememberStatement(s: ParsedStatement, cls: StatementClass, ctx: ClassifyContext): void {
  try {
    remember(s, { class: cls, reason: '' }, ctx, s.text);
  } catch {
    // A shape remember() did not expect only means less context: later statements fail closed.
  }
}

/** Classifies one parsed statement in the context of the statements before it (updates `ctx` unless remember is false). */
export function classifyParsed(s: ParsedStatement, ctx: ClassifyContext = newClassifyContext(), opts: { remember?: boolean } = {}): ClassifiedStatement {
  // One walk of the tree serves both the verdict and the object list.
  const facts = collectFacts(s.node);
  const v = safeClassify(s.kind, s.node, facts, ctx);
  if (opts.remember !== false) rememberStatement(s, v.class, ctx);
  let objects: string[];
  try {
    objects = objectsOf(s, facts);
  } catch {
    objects = [];
  }
  return { text: s.text, class: v.class, kind: s.kind, objects, reason: v.reason, start: s.start, end: s.end, line: s.line, column: s.column };
}

/**
 * Classifies every statement of `sql` as one input: a FETCH counts as read only after the
 * cursor's DECLARE in this same input, a temp-table write only after its CREATE TEMP. Pass a
 * context to continue an input across calls (one file sent statement by statement on one
 * session); never share one across sessions. Needs loadSqlParser() first. Throws SqlSyntaxError.
 */
export function classifySync(sql: string, ctx: ClassifyContext = newClassifyContext()): ClassifiedStatement[] {
  return parseStatements(sql).map((s) => classifyParsed(s, ctx));
}

/** Classifies every statement of `sql` (loads the parser on first use). Throws SqlSyntaxError. */
export async function classify(sql: string): Promise<ClassifiedStatement[]> {
  await loadSqlParser();
  return classifySync(sql);
}
