import { columnType, declaredColumnDefs } from './helpers.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'ban-char-field',
  severity: 'warning',
  title: 'char(n) column',
  explanation:
    '`char(n)` pads values with spaces, compares and sorts them in surprising ways, and is no faster than `text` in PostgreSQL. Use `text` (with a CHECK on length if needed; see prefer-text-field for why not `varchar(n)`).',
  examples: { bad: ['CREATE TABLE t (code char(5));', 'ALTER TABLE t ADD COLUMN code character(2);'], good: ['CREATE TABLE t (code text CHECK (length(code) <= 5));'] },
  check: (s) =>
    declaredColumnDefs(s)
      .filter((d) => columnType(d) === 'bpchar')
      .map((d) => ({ message: `column ${d.colname} is char(n), which pads with spaces; use text or varchar`, location: d.typeName?.location as number })),
};
