import { alterCmds, columnType } from './helpers.js';
import type { AstNode, LintRule, ParsedStatement } from './types.js';

function columnDefs(s: ParsedStatement): AstNode[] {
  if (s.kind === 'CreateStmt') return ((s.node.tableElts as AstNode[]) ?? []).map((e) => e.ColumnDef as AstNode).filter(Boolean);
  return alterCmds(s)
    .filter((c) => c.subtype === 'AT_AddColumn' || c.subtype === 'AT_AlterColumnType')
    .map((c) => c.def?.ColumnDef as AstNode)
    .filter(Boolean);
}

export const rule: LintRule = {
  id: 'ban-char-field',
  severity: 'warning',
  title: 'char(n) column',
  explanation:
    '`char(n)` pads values with spaces, compares and sorts them in surprising ways, and is no faster than `text` in PostgreSQL. Use `text` (with a CHECK on length if needed) or `varchar(n)`.',
  examples: { bad: ['CREATE TABLE t (code char(5));', 'ALTER TABLE t ADD COLUMN code character(2);'], good: ['CREATE TABLE t (code text CHECK (length(code) <= 5));'] },
  check: (s) =>
    columnDefs(s)
      .filter((d) => columnType(d) === 'bpchar')
      .map((d) => ({ message: `column ${d.colname} is char(n), which pads with spaces; use text or varchar`, location: d.typeName?.location as number })),
};
