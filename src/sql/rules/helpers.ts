/** Small readers over parse nodes shared by the lint rules. */
import { relationName } from '../facts.js';
import type { AstNode, ParsedStatement } from '../parser.js';
import type { LintContext } from './types.js';

export { relationName };

/** 'schema.name' with the schema defaulting to public, for matching tables across statements. */
export function tableKey(rv: AstNode | undefined): string {
  if (!rv) return '?';
  return `${rv.schemaname ?? 'public'}.${rv.relname}`;
}

/** True when the relation existed before this migration (was not created earlier in it). */
export function isExistingTable(rv: AstNode | undefined, ctx: LintContext): boolean {
  return !ctx.createdTables.has(tableKey(rv));
}

/** The ALTER TABLE sub-commands of a statement (empty for other statements). */
export function alterCmds(stmt: ParsedStatement): AstNode[] {
  if (stmt.kind !== 'AlterTableStmt' || stmt.node.objtype !== 'OBJECT_TABLE') return [];
  return ((stmt.node.cmds as AstNode[]) ?? []).map((c) => c.AlterTableCmd as AstNode).filter(Boolean);
}

/** The Constraint nodes of a column definition. */
export function columnConstraints(colDef: AstNode | undefined): AstNode[] {
  return ((colDef?.constraints as AstNode[]) ?? []).map((c) => c.Constraint as AstNode).filter(Boolean);
}

/** The type name of a column definition, lower-case, without pg_catalog. */
export function columnType(colDef: AstNode | undefined): string {
  const names = ((colDef?.typeName?.names as AstNode[]) ?? []).map((n) => String(n.String?.sval ?? ''));
  return names.filter((n) => n !== 'pg_catalog').join('.').toLowerCase();
}

/** Names in a DropStmt's `objects` list ('schema.name'). */
export function objectNamesOf(node: AstNode): string[] {
  return ((node.objects as AstNode[]) ?? []).map((o) =>
    o.List ? ((o.List.items as AstNode[]) ?? []).map((i) => i.String?.sval).join('.') : String(o.String?.sval ?? '?'),
  );
}

/** The Constraint nodes an ALTER TABLE adds (ADD CONSTRAINT, and inline ones of ADD COLUMN). */
export function addedConstraints(stmt: ParsedStatement): AstNode[] {
  const out: AstNode[] = [];
  for (const c of alterCmds(stmt)) {
    if (c.subtype === 'AT_AddConstraint' && c.def?.Constraint) out.push(c.def.Constraint);
    if (c.subtype === 'AT_AddColumn') out.push(...columnConstraints(c.def?.ColumnDef));
  }
  return out;
}

/** Column definitions a statement creates or retypes: CREATE TABLE columns, ADD COLUMN, ALTER COLUMN TYPE. */
export function declaredColumnDefs(s: ParsedStatement): AstNode[] {
  if (s.kind === 'CreateStmt') return ((s.node.tableElts as AstNode[]) ?? []).map((e) => e.ColumnDef as AstNode).filter(Boolean);
  return alterCmds(s)
    .filter((c) => c.subtype === 'AT_AddColumn' || c.subtype === 'AT_AlterColumnType')
    .map((c) => c.def?.ColumnDef as AstNode)
    .filter(Boolean);
}

/** Like declaredColumnDefs, with each column's name (ALTER COLUMN … TYPE keeps it on the command, not the ColumnDef). */
export function namedColumnDefs(s: ParsedStatement): Array<{ name: string; def: AstNode }> {
  if (s.kind === 'CreateStmt') return declaredColumnDefs(s).map((def) => ({ name: String(def.colname), def }));
  return alterCmds(s)
    .filter((c) => (c.subtype === 'AT_AddColumn' || c.subtype === 'AT_AlterColumnType') && c.def?.ColumnDef)
    .map((c) => ({ name: String(c.def.ColumnDef.colname ?? c.name), def: c.def.ColumnDef as AstNode }));
}
