import { columnType, namedColumnDefs } from './helpers.js';
import type { LintRule } from './types.js';

const SERIAL: Record<string, string> = { serial: 'integer', serial4: 'integer', bigserial: 'bigint', serial8: 'bigint', smallserial: 'smallint', serial2: 'smallint' };

export const rule: LintRule = {
  id: 'prefer-identity',
  severity: 'warning',
  title: 'serial column instead of an identity column',
  explanation:
    '`serial` creates a separate sequence owned loosely by the column: its permissions must be granted separately, it is easy to write past (explicit ids do not advance it), copying the table with `CREATE TABLE … (LIKE …)` shares the sequence, and dump/restore of one table can leave it behind. `GENERATED ALWAYS AS IDENTITY` (or BY DEFAULT) is the SQL-standard replacement that avoids all of this.',
  examples: {
    bad: ['CREATE TABLE orders (id bigserial PRIMARY KEY);', 'ALTER TABLE orders ADD COLUMN seq serial;'],
    good: ['CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);'],
  },
  check: (s) =>
    namedColumnDefs(s)
      .filter(({ def: d }) => SERIAL[columnType(d)] !== undefined)
      .map(({ name, def: d }) => ({ message: `column ${name} is ${columnType(d)}; use ${SERIAL[columnType(d)]} GENERATED ALWAYS AS IDENTITY`, location: d.typeName?.location as number })),
};
