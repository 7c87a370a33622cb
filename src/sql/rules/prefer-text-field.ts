import { columnType, namedColumnDefs } from './helpers.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'prefer-text-field',
  severity: 'warning',
  title: 'varchar(n) column instead of text',
  explanation:
    '`varchar(n)` stores exactly like `text` in PostgreSQL, so the limit buys nothing in speed or space, and raising it later is an `ALTER COLUMN TYPE` that takes an ACCESS EXCLUSIVE lock (and rewrites the table when the type changes otherwise). Use `text`, with a `CHECK (length(col) <= n)` constraint when the limit matters: that can be changed with NOT VALID + VALIDATE without blocking writes.',
  examples: {
    bad: ['CREATE TABLE users (email varchar(255));', 'ALTER TABLE users ADD COLUMN nick character varying(40);'],
    good: ['CREATE TABLE users (email text CHECK (length(email) <= 255));', 'CREATE TABLE users (email varchar);'],
  },
  check: (s) =>
    namedColumnDefs(s)
      .filter(({ def: d }) => columnType(d) === 'varchar' && ((d.typeName?.typmods as unknown[]) ?? []).length > 0)
      .map(({ name, def: d }) => ({ message: `column ${name} is varchar(n); use text with a CHECK on its length`, location: d.typeName?.location as number })),
};
