import type { LintRule } from './types.js';
import { RUNTIME_PLACEHOLDER, statementsWithin } from './routine-bodies.js';
import { objectNamesOf } from './helpers.js';
import { relationName } from '../facts.js';
import { asNode } from '../ast.js';

const DROPS = new Set(['OBJECT_TABLE', 'OBJECT_SCHEMA', 'OBJECT_MATVIEW', 'OBJECT_FOREIGN_TABLE']);

export const rule: LintRule = {
  id: 'ban-destructive-statement-in-routine',
  severity: 'error',
  title: 'DROP, TRUNCATE or unfiltered DELETE/UPDATE hidden inside a DO block or function body',
  explanation:
    'Bodies of DO blocks and functions are strings to the SQL parser, so `DO $$ BEGIN DROP TABLE users; END $$` or a function that truncates a table passes every top-level rule (ban-drop-table, ban-truncate, …). prodguard reads the bodies with PostgreSQL’s PL/pgSQL parser, including EXECUTE strings built from literals, and holds them to the same standard: write the destructive statement at the top level of the migration where reviewers and the other rules see it, or suppress with a reason a reviewer can check.',
  examples: {
    bad: [
      'DO $$ BEGIN DROP TABLE users; END $$;',
      "DO $$ BEGIN EXECUTE 'DROP TABLE ' || 'users'; END $$;",
      'CREATE FUNCTION wipe() RETURNS void LANGUAGE plpgsql AS $$ BEGIN TRUNCATE orders; END $$;',
      'CREATE FUNCTION wipe() RETURNS void LANGUAGE sql AS $$ DELETE FROM orders $$;',
    ],
    good: [
      'DO $$ BEGIN UPDATE settings SET v = 1 WHERE k = \'x\'; END $$;',
      'CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM sessions WHERE expires_at < now(); END $$;',
      'DROP TABLE IF EXISTS tmp_import;',
    ],
  },
  check: (s, ctx) => {
    const hits: string[] = [];
    for (const { stmt: e, where } of statementsWithin(s, ctx)) {
      if (!where) continue;
      const { kind, node: n } = e;
      if (kind === 'DropStmt' && DROPS.has(String(n.removeType))) hits.push(`${where} drops ${String(n.removeType).replace('OBJECT_', '').toLowerCase().replace('_', ' ')} ${objectNamesOf(n).join(', ')}`);
      else if (kind === 'DropdbStmt') hits.push(`${where} drops database ${n.dbname}`);
      else if (kind === 'TruncateStmt') hits.push(`${where} truncates ${(n.relations ?? []).map((r) => relationName(asNode(r, 'RangeVar'))).join(', ')}`);
      else if ((kind === 'DeleteStmt' || kind === 'UpdateStmt') && n.whereClause === undefined) hits.push(`${where} ${kind === 'DeleteStmt' ? 'deletes every row of' : 'updates every row of'} ${relationName(n.relation)}`);
    }
    return hits.map((h) => h.split(RUNTIME_PLACEHOLDER).join('<run-time value>'));
  },
};
