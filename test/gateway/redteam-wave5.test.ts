/**
 * The wave-5 data-plane red team (docs/redteam/wave5-data.jsonl: black box, docs and CLI only)
 * sent its SQL through `prodguard mcp`'s query tool and the gateway. Every case whose steps carry
 * one SQL text is judged again here as both paths judge it (judgeSql): what the red team expected
 * refused is refused, what it expected allowed is allowed, except the decisions listed with their
 * reasons. Cases that need a setup first (another session's SET, an ANALYZE, a shadow) are run by
 * the named tests (w5d in test/gateway/judge.test.ts, mcp.test.ts, test/sql/classify.test.ts).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadSqlParser } from '../../src/sql/parser.js';
import { judgeSql } from '../../src/gateway/judge.js';

interface Case { id: string; via: string; steps: string; expect: string; observed: string }

const DECIDED: Record<string, { refused: boolean; why: string }> = {
  'w5d-005': { refused: false, why: 'data_directory and hba_file are paths, not credentials' },
  'w5d-009': { refused: true, why: 'clean only because no user mapping existed yet: w5d-014 read a password through it' },
  'w5d-235': { refused: true, why: 'extended statistics hold sample values of their columns, as pg_stats does (w5d-012)' },
  'w5d-145': { refused: true, why: 'custom settings are refused whole (app.settings.jwt_secret, prodguard.token): clean here only because this session had not set it' },
  'w5d-024': { refused: true, why: 'pg_roles.rolconfig holds the settings applications keep secrets in: refused on the read paths since wave 6 (w6d-083)' },
  'w5d-146': { refused: true, why: 'function source can hold a password written into a body: refused on the read paths since wave 6 (w6d-050)' },
  'w5d-238': { refused: true, why: 'whole rows of pg_roles carry rolconfig: refused since wave 6 (w6d-299); name the columns' },
  'w5d-252': { refused: true, why: 'SHOW ALL lists primary_conninfo and custom settings (the red team later read secrets this way)' },
  'w5d-258': { refused: true, why: 'SELECT … FOR UPDATE locks rows: a write to the gateway' },
  'w5d-259': { refused: true, why: 'pg_sleep over 1 s holds a snapshot' },
};

/** The SQL text of a case's steps (`mcp query: …`, `{sql:'…'}`, `gateway …: …`), or null. */
function sqlOf(steps: string): string | null {
  const obj = /\{sql:\s*'((?:[^']|'')*)'/.exec(steps);
  if (obj) return obj[1];
  const m = /(?:^|;\s*|\s)(?:mcp(?: --[\w-]+(?: \w+)?)*,? (?:query|explain)|mcp: query|gateway(?: --[\w-]+(?: [\w.:]+)?)*|psql[^:]*|query):\s*(.+)$/s.exec(steps);
  return m ? m[1].trim() : null;
}

before(loadSqlParser);

test('wave-5 red team SQL through mcp and the gateway decides as expected', () => {
  const cases = readFileSync(new URL('../../docs/redteam/wave5-data.jsonl', import.meta.url), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Case);
  const failures: string[] = [];
  let judged = 0;
  for (const c of cases) {
    if (c.via !== 'mcp' && c.via !== 'gateway') continue;
    const sql = sqlOf(c.steps);
    if (!sql) continue;
    const j = judgeSql(sql);
    if (j.class === 'unparsed') continue; // a description, not SQL
    judged++;
    // What leaked must now be refused and what was refused stays so; what the red team found
    // harmless ("clean": e.g. pg_roles.rolpassword is always ********) or expected allowed passes.
    const want = DECIDED[c.id]?.refused ?? (c.observed === 'leaked' || c.observed === 'refused' || (c.expect === 'refused' && c.observed !== 'clean'));
    if (want !== !j.readOnlyOk) failures.push(`${c.id} ${j.readOnlyOk ? 'allowed' : 'refused'} (want ${want ? 'refused' : 'allowed'}): ${sql}`);
  }
  assert.deepEqual(failures, []);
  assert.ok(judged >= 100, `only ${judged} cases judged`);
});
