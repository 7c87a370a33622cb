/**
 * The parse tree's types: @pgsql/types, which libpg-query re-exports and generates from the same
 * PG 18 grammar it parses with, so the types describe exactly the JSON the parser returns. A
 * field typed `Node` (or `Node[]`) holds wrapped nodes — `{ SelectStmt: { …fields } }`, one key,
 * the node type — while a field typed with a concrete node type (`relation: RangeVar`) holds the
 * fields bare. These helpers unwrap without `any`, so a misspelled node type or field is a compile
 * error. Type-only apart from three one-line readers: importing this file loads no parser.
 */
import type { Node } from 'libpg-query';

export type {
  A_Const,
  AlterTableCmd,
  AlterTableType,
  ColumnDef,
  Constraint,
  CreateFunctionStmt,
  CreateStmt,
  DefElem,
  DoStmt,
  DropStmt,
  ExplainStmt,
  FuncCall,
  FunctionParameter,
  Node,
  ParseResult,
  RangeVar,
  RoleSpec,
  TypeName,
  VariableSetStmt,
} from 'libpg-query';

/** Node type name → its fields, built in one pass over the Node union (cheap for the checker). */
type NodeMap = { [U in Node as keyof U]: U[keyof U] };

/** Every node type name (the key of a wrapped node): 'SelectStmt', 'RangeVar', 'A_Const', … */
export type NodeKind = keyof NodeMap;

/** The fields of a node type: `NodeOf<'DropStmt'>` is @pgsql/types' `DropStmt`. */
export type NodeOf<K extends NodeKind> = NodeMap[K];

/** A node as its type name and fields, typed together: `if (t.kind === 'DropStmt') t.node.removeType`. */
export type TaggedNode = { [K in NodeKind]: { kind: K; node: NodeOf<K> } }[NodeKind];

/** The type name of a wrapped node (its one key). */
export function nodeKind(n: Node): NodeKind {
  return Object.keys(n)[0] as NodeKind;
}

/**
 * The fields of `n` when it is a `kind` node, else undefined — exactly `n?.[kind]` on the JSON
 * (an empty node, `{ Integer: {} }` for 0, is `{}`, not undefined).
 */
export function asNode<K extends NodeKind>(n: Node | undefined, kind: K): NodeOf<K> | undefined {
  return (n as Partial<Record<K, NodeOf<K>>> | undefined)?.[kind];
}

/** The `kind` nodes of a list, unwrapped, in order; nodes of other types are skipped. */
export function nodesOf<K extends NodeKind>(list: Node[] | undefined, kind: K): Array<NodeOf<K>> {
  return (list ?? []).map((n) => asNode(n, kind)).filter((x): x is NodeOf<K> => Boolean(x));
}

/** A wrapped node as its type name and fields. */
export function unwrap(n: Node): TaggedNode {
  const kind = nodeKind(n);
  return { kind, node: (n as Record<NodeKind, unknown>)[kind] } as TaggedNode;
}

/**
 * A JSON object met while walking the tree generically (a wrapped node, a node's fields or a
 * PL/pgSQL tree node, which @pgsql/types does not describe): walkers look at keys, then read the
 * one they know through a typed helper.
 */
export type JsonObject = { readonly [key: string]: unknown };

/*
 * The PL/pgSQL tree as parsePlPgSQLSync really returns it, `{ plpgsql_funcs: [{ PLpgSQL_function:
 * … }] }` (checked at run time): libpg-query declares the SQL parser's ParseResult for it and
 * @pgsql/types has no PL/pgSQL types, so only the parts read here are described.
 */
export interface PlpgsqlTree {
  plpgsql_funcs?: Array<{ PLpgSQL_function?: PlpgsqlFunction }>;
}
export interface PlpgsqlFunction {
  /** Parameters first, in declaration order, then every declared variable. */
  datums?: PlpgsqlDatum[];
  action?: unknown;
}
/** A datum or assignment target wrapped by its kind: `{ PLpgSQL_var: { refname } }`, `{ PLpgSQL_row: { fields } }`, … */
export type PlpgsqlDatum = { readonly [kind: string]: PlpgsqlVariable | undefined };
export interface PlpgsqlVariable {
  refname?: string;
  fields?: Array<{ name?: string }>;
}
export interface PlpgsqlExpr {
  query?: string;
  /** RawParseMode: 0 statement, 1 type name, 2 expression, 3 assignment. */
  parseMode?: number;
}
/** A PL/pgSQL statement's fields that hold expressions (`expr`, `query`, `dynquery`, …). */
export type PlpgsqlExprFields = { readonly [field: string]: { PLpgSQL_expr?: PlpgsqlExpr } | undefined };
