import { classifyNode } from '../classify.js';
import { isExistingTable } from './helpers.js';
import type { LintRule, ParsedStatement } from './types.js';

const DML = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);
/** The statements that change data: each has a `relation` (COPY's only with FROM a table). */
type DataChange = Extract<ParsedStatement, { kind: 'InsertStmt' | 'UpdateStmt' | 'DeleteStmt' | 'MergeStmt' | 'CopyStmt' }>;
const isDataChange = (s: ParsedStatement): s is DataChange => DML.has(s.kind) || (s.kind === 'CopyStmt' && Boolean(s.node.is_from));

export const rule: LintRule = {
  id: 'ban-data-change-in-schema-migration',
  severity: 'warning',
  title: 'Data changes mixed into a schema migration',
  explanation:
    'A migration that changes both schema and data holds its DDL locks while the data change runs, cannot be re-run safely, and makes a rollback ambiguous. Keep schema migrations to DDL; run backfills and data fixes separately, in batches. Filling a table created earlier in the same migration is allowed.',
  examples: {
    bad: ['ALTER TABLE users ADD COLUMN plan text;\nUPDATE users SET plan = \'free\' WHERE plan IS NULL;'],
    good: ['UPDATE users SET plan = \'free\' WHERE plan IS NULL;', 'CREATE TABLE plans (name text);\nINSERT INTO plans VALUES (\'free\');'],
  },
  check: (s, ctx) => {
    // Seeding a table created earlier in the same migration is the normal way to fill it.
    if (!isDataChange(s) || !isExistingTable(s.node.relation, ctx)) return undefined;
    if (!ctx.memo.has('schemaChanging')) {
      ctx.memo.set('schemaChanging', ctx.all.some((o) => {
        const c = classifyNode(o.kind, o.node).class;
        return c === 'ddl' || (c === 'destructive' && !DML.has(o.kind));
      }));
    }
    const ddl = ctx.memo.get('schemaChanging') === true;
    return ddl ? `${s.kind.replace('Stmt', '').toUpperCase()} changes data in a migration that also changes the schema` : undefined;
  },
};
