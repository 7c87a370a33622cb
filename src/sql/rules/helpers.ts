/** Small readers over parse nodes shared by the lint rules. */
import { relationName } from '../facts.js';
import type { ParsedStatement } from '../parser.js';
import { asNode, nodesOf, type AlterTableCmd, type ColumnDef, type Constraint, type DropStmt, type RangeVar, type TaggedNode } from '../ast.js';
import type { LintContext } from './types.js';

export { relationName };

/** 'schema.name' with the schema defaulting to public, for matching tables across statements. */
export function tableKey(rv: RangeVar | undefined): string {
  if (!rv) return '?';
  return `${rv.schemaname ?? 'public'}.${rv.relname}`;
}

/** True when the relation existed before this migration (was not created earlier in it). */
export function isExistingTable(rv: RangeVar | undefined, ctx: LintContext): boolean {
  return !ctx.createdTables.has(tableKey(rv));
}

/** The ALTER TABLE sub-commands of a statement (empty for other statements). */
export function alterCmds(stmt: TaggedNode): AlterTableCmd[] {
  if (stmt.kind !== 'AlterTableStmt' || stmt.node.objtype !== 'OBJECT_TABLE') return [];
  return nodesOf(stmt.node.cmds, 'AlterTableCmd');
}

/** The Constraint nodes of a column definition. */
export function columnConstraints(colDef: ColumnDef | undefined): Constraint[] {
  return nodesOf(colDef?.constraints, 'Constraint');
}

/** The type name of a column definition, lower-case, without pg_catalog. */
export function columnType(colDef: ColumnDef | undefined): string {
  const names = (colDef?.typeName?.names ?? []).map((n) => String(asNode(n, 'String')?.sval ?? ''));
  return names.filter((n) => n !== 'pg_catalog').join('.').toLowerCase();
}

/** Names in a DropStmt's `objects` list ('schema.name'). */
export function objectNamesOf(node: DropStmt): string[] {
  return (node.objects ?? []).map((o) => {
    const list = asNode(o, 'List');
    return list ? (list.items ?? []).map((i) => asNode(i, 'String')?.sval).join('.') : String(asNode(o, 'String')?.sval ?? '?');
  });
}

/** The Constraint nodes an ALTER TABLE adds (ADD CONSTRAINT, and inline ones of ADD COLUMN). */
export function addedConstraints(stmt: ParsedStatement): Constraint[] {
  const out: Constraint[] = [];
  for (const c of alterCmds(stmt)) {
    const added = asNode(c.def, 'Constraint');
    if (c.subtype === 'AT_AddConstraint' && added) out.push(added);
    if (c.subtype === 'AT_AddColumn') out.push(...columnConstraints(asNode(c.def, 'ColumnDef')));
  }
  return out;
}

/** Column definitions a statement creates or retypes: CREATE TABLE columns, ADD COLUMN, ALTER COLUMN TYPE. */
export function declaredColumnDefs(s: ParsedStatement): ColumnDef[] {
  if (s.kind === 'CreateStmt') return nodesOf(s.node.tableElts, 'ColumnDef');
  return nodesOf(
    alterCmds(s)
      .filter((c) => c.subtype === 'AT_AddColumn' || c.subtype === 'AT_AlterColumnType')
      .flatMap((c) => (c.def ? [c.def] : [])),
    'ColumnDef',
  );
}

/** Like declaredColumnDefs, with each column's name (ALTER COLUMN … TYPE keeps it on the command, not the ColumnDef). */
export function namedColumnDefs(s: ParsedStatement): Array<{ name: string; def: ColumnDef }> {
  if (s.kind === 'CreateStmt') return declaredColumnDefs(s).map((def) => ({ name: String(def.colname), def }));
  return alterCmds(s).flatMap((c) => {
    const def = asNode(c.def, 'ColumnDef');
    return (c.subtype === 'AT_AddColumn' || c.subtype === 'AT_AlterColumnType') && def ? [{ name: String(def.colname ?? c.name), def }] : [];
  });
}

/** CREATE INDEX / DROP INDEX / REINDEX … CONCURRENTLY: refused by PostgreSQL inside a transaction block. Null for anything else. */
export function concurrentStatement(s: ParsedStatement): 'CREATE INDEX' | 'DROP INDEX' | 'REINDEX' | null {
  if (s.kind === 'IndexStmt' && s.node.concurrent) return 'CREATE INDEX';
  if (s.kind === 'DropStmt' && s.node.concurrent) return 'DROP INDEX';
  if (s.kind === 'ReindexStmt' && ((s.node.params as Array<{ DefElem?: { defname?: string } }>) ?? []).some((p) => p.DefElem?.defname === 'concurrently')) return 'REINDEX';
  return null;
}
