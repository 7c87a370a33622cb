import { columnType, declaredColumnDefs } from './helpers.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'prefer-timestamptz',
  severity: 'warning',
  title: 'timestamp without time zone',
  explanation:
    '`timestamp` (without time zone) stores wall-clock time with no zone, so the same instant reads differently depending on the writer’s settings, and comparisons across zones and DST changes go wrong. Use `timestamptz`, which stores an absolute instant.',
  examples: { bad: ['CREATE TABLE events (at timestamp);', 'ALTER TABLE events ADD COLUMN seen_at timestamp without time zone;'], good: ['CREATE TABLE events (at timestamptz);'] },
  check: (s) =>
    declaredColumnDefs(s)
      .filter((c) => columnType(c) === 'timestamp')
      .map((c) => ({ message: `column ${c.colname} is timestamp without time zone; use timestamptz`, location: c.typeName?.location as number })),
};
