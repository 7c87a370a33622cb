import { collectFacts } from '../facts.js';
import { functionName, isReadOnlyFunction } from '../functions.js';
import { asNode } from '../ast.js';
import { alterCmds, columnConstraints, columnType, isExistingTable, relationName } from './helpers.js';
import type { LintRule, RuleHit } from './types.js';

/** Built-ins that are read-only but VOLATILE: as a default they are evaluated per row, forcing a rewrite. */
const VOLATILE = new Set(['random', 'random_normal', 'gen_random_uuid', 'clock_timestamp', 'timeofday', 'setseed']);
const SERIAL = new Set(['serial', 'bigserial', 'smallserial', 'serial4', 'serial8', 'serial2']);

export const rule: LintRule = {
  id: 'adding-field-with-volatile-default',
  severity: 'error',
  title: 'Adding a column whose default forces a table rewrite',
  explanation:
    'Since PostgreSQL 11, ADD COLUMN with a constant or STABLE default (`now()`, `0`, `\'x\'`) is instant. A VOLATILE default (`gen_random_uuid()`, `random()`, `clock_timestamp()`, `nextval()` via serial, any user function) or a STORED generated column must be computed for every existing row, so the table is rewritten under an ACCESS EXCLUSIVE lock. Add the column without a default (or with a constant one), backfill in batches, then set the default for new rows.',
  examples: {
    bad: ['ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();', 'ALTER TABLE users ADD COLUMN seq bigserial;', 'ALTER TABLE users ADD COLUMN total int GENERATED ALWAYS AS (a + b) STORED;'],
    good: ['ALTER TABLE users ADD COLUMN created_at timestamptz DEFAULT now();', 'ALTER TABLE users ADD COLUMN token uuid;\nALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();'],
  },
  check: (s, ctx) => {
    if (s.kind !== 'AlterTableStmt' || !isExistingTable(s.node.relation, ctx)) return undefined;
    const out: RuleHit[] = [];
    for (const c of alterCmds(s).filter((x) => x.subtype === 'AT_AddColumn')) {
      const col = asNode(c.def, 'ColumnDef');
      const where = `${relationName(s.node.relation)}.${col?.colname}`;
      if (SERIAL.has(columnType(col))) {
        out.push({ message: `adding ${columnType(col)} column ${where} fills it from a sequence row by row (table rewrite)`, location: col?.location });
        continue;
      }
      for (const k of columnConstraints(col)) {
        if (k.contype === 'CONSTR_GENERATED' && k.generated_kind !== 'v') out.push({ message: `adding STORED generated column ${where} rewrites the table`, location: k.location });
        if (k.contype !== 'CONSTR_DEFAULT') continue;
        const volatile = collectFacts({ expr: k.raw_expr }).functions.find((p) => VOLATILE.has(functionName(p).name) || !isReadOnlyFunction(p));
        if (volatile) out.push({ message: `default ${volatile.join('.')}() of ${where} is volatile: every existing row is rewritten`, location: k.location });
      }
    }
    return out;
  },
};
