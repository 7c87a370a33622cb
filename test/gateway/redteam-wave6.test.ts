/**
 * The wave-6 read-path red team (docs/redteam/wave6-data.jsonl: black box, docs and CLI only, 783
 * attempts) sent its SQL through `prodguard mcp`'s query/explain tools and the gateway. Every case
 * whose steps carry one SQL text is judged again here as its path judges it — mcp through
 * requireReadOnly (exactly one statement, class read), the gateway through judgeSql — and must
 * come out as the red team expected: what leaked or was expected refused is refused, what was
 * expected allowed (ordinary debugging) is allowed, except the decisions listed with their reasons.
 * What is enforced outside the judge (temp_file_limit, the read-only transaction) is tested in
 * test/gateway/read-limits.test.ts.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadSqlParser } from '../../src/sql/parser.js';
import { judgeSql } from '../../src/gateway/judge.js';
import { requireReadOnly } from '../../src/mcp/tools.js';

interface Case { id: string; via: string; steps: string; expect: string; observed: string }

const FLOOD = 'a huge generated set is a read: its temporary files are capped by temp_file_limit and its time by the statement timeout (test/gateway/read-limits.test.ts)';
const MISSING = 'names a relation or function PostgreSQL 15 does not have: it fails there, nothing to judge';
const TEMP_LIMIT = 'reads or resets temp_file_limit: the session keeps the gateway’s limit (the red team found it stays 1GB; test/gateway/read-limits.test.ts)';
const WAL_RECEIVER = 'PostgreSQL itself hides the password in pg_stat_wal_receiver.conninfo';
const STAR = 'a * anywhere is refused while a secret-column catalog is read in the same statement, even over a sub-select that names harmless columns (fail closed)';
const NATURAL = 'a NATURAL join compares every same-named column, a secret one included (the equality oracle of w6b-239): refused when a secret-column catalog is in it';
const ANY_ALIAS = 'a whole row of any FROM item is refused while a secret-column catalog is read in the same statement: telling whose row it is would need the planner (fail closed)';
const DECIDED: Record<string, { refused: boolean; why: string }> = {
  'w6d-096': { refused: true, why: 'pg_config() lists the server’s build and install paths (the red team’s low finding 4): refused with the other server-private functions' },
  'w6d-120': { refused: false, why: 'an index cannot be read with SELECT: PostgreSQL refuses it' },
  'w6d-148': { refused: false, why: '"authid" is no relation (pg_authid is refused by name and OID everywhere)' },
  'w6d-152': { refused: false, why: 'pid and state of other sessions hold no statement text (pg_stat_activity is refused only for query and whole rows now: w6d-758..761)' },
  'w6d-330': { refused: false, why: 'a view whose rule writes: the read-only transaction refuses the write (as the red team saw), the judge need not' },
  'w6d-346': { refused: false, why: FLOOD },
  'w6d-347': { refused: false, why: FLOOD },
  'w6d-348': { refused: false, why: FLOOD },
  'w6d-371': { refused: false, why: 'a 500 MB value: bounded by PostgreSQL’s 1 GB value limit and the statement timeout (docs/gateway.md, limits)' },
  'w6d-378': { refused: false, why: FLOOD },
  'w6d-659': { refused: false, why: FLOOD },
  'w6d-679': { refused: false, why: FLOOD },
  'w6d-680': { refused: false, why: FLOOD },
  'w6d-614': { refused: true, why: 'set_config of search_path to anything but pg_dump’s \'\' or pg_catalog: a schema before pg_catalog could make an unqualified name call a function someone else created (SET search_path stays a session statement)' },
  'w6d-615': { refused: true, why: 'query_to_xml runs a query given as text: the judge cannot see what it reads (pg_authid, say)' },
  'w6d-763': { refused: true, why: 'the setting column of pg_settings is refused whatever the WHERE names; SHOW work_mem or current_setting(\'work_mem\') read a named harmless setting' },
  'w6d-772': { refused: true, why: 'a CTE named like a secret catalog is refused with it (fail closed; rename the CTE)' },
  // Wave 6b (docs/redteam/wave6b-data.jsonl), the column rule attacked an hour later.
  'w6b-066': { refused: false, why: TEMP_LIMIT },
  'w6b-067': { refused: false, why: TEMP_LIMIT },
  'w6b-074': { refused: false, why: TEMP_LIMIT },
  'w6b-075': { refused: false, why: TEMP_LIMIT },
  'w6b-077': { refused: false, why: TEMP_LIMIT },
  'w6b-078': { refused: false, why: TEMP_LIMIT },
  'w6b-087': { refused: false, why: TEMP_LIMIT },
  'w6b-088': { refused: false, why: TEMP_LIMIT },
  'w6b-378': { refused: false, why: TEMP_LIMIT },
  'w6b-220': { refused: false, why: 'a schema-qualified table name as a value: PostgreSQL rejects it (missing FROM-clause entry)' },
  'w6b-221': { refused: false, why: 'a schema-qualified table name as a value: PostgreSQL rejects it (missing FROM-clause entry)' },
  'w6b-224': { refused: true, why: NATURAL },
  'w6b-298': { refused: true, why: NATURAL },
  'w6b-313': { refused: true, why: NATURAL },
  'w6b-264': { refused: false, why: 'more parallel workers each get their own temp_file_limit: more space, not an escape (documented in docs/gateway.md)' },
  'w6b-265': { refused: false, why: 'more parallel workers each get their own temp_file_limit: more space, not an escape (documented in docs/gateway.md)' },
  'w6b-273': { refused: true, why: ANY_ALIAS },
  'w6b-281': { refused: true, why: ANY_ALIAS },
  'w6b-367': { refused: true, why: ANY_ALIAS },
  'w6b-365': { refused: true, why: 'a CTE named like a secret-column catalog is refused with it (fail closed; rename the CTE)' },
  // Wave 6c (docs/redteam/wave6c-data.jsonl), the w6b fixes attacked: nothing leaked.
  'w6c-014': { refused: false, why: 'a schema-qualified table name as a value: PostgreSQL rejects it (missing FROM-clause entry)' },
  'w6c-281': { refused: false, why: 'a schema-qualified table name as a value: PostgreSQL rejects it (missing FROM-clause entry)' },
  'w6c-025': { refused: false, why: 'ORDER BY a position counts output columns: PostgreSQL rejects 26 here' },
  'w6c-292': { refused: false, why: 'ORDER BY a position counts output columns: PostgreSQL rejects 26 here' },
  'w6c-086': { refused: false, why: TEMP_LIMIT },
  'w6c-087': { refused: false, why: TEMP_LIMIT },
  'w6c-088': { refused: false, why: TEMP_LIMIT },
  'w6c-183': { refused: false, why: 'PostgreSQL rejects a sub-select as an EXECUTE parameter' },
  'w6c-184': { refused: false, why: 'information_schema.routines.external_name holds prosrc only for C functions: a symbol name' },
  'w6c-251': { refused: false, why: WAL_RECEIVER },
  'w6c-252': { refused: false, why: WAL_RECEIVER },
  'w6c-253': { refused: false, why: WAL_RECEIVER },
  'w6c-254': { refused: false, why: 'view definitions stay readable (documented in docs/gateway.md)' },
  'w6c-261': { refused: false, why: MISSING },
  'w6c-133': { refused: true, why: STAR },
  'w6c-142': { refused: true, why: STAR },
  'w6c-151': { refused: true, why: STAR },
  'w6c-160': { refused: true, why: STAR },
  'w6c-208': { refused: true, why: STAR },
  'w6c-221': { refused: true, why: STAR },
  'w6c-197': { refused: true, why: 'a column named like a secret one (setting) is refused wherever it appears while pg_settings is read (fail closed)' },
  'w6d-486': { refused: false, why: MISSING },
  'w6d-519': { refused: false, why: MISSING },
  'w6d-752': { refused: false, why: MISSING },
};

/** The SQL text of a case's steps (`query {"sql":…}`, `explain {"sql":…}`, `psql gateway alice: …`, extended protocol), or null. */
function sqlOf(steps: string): string | null {
  const json = /^(?:query|explain) (\{.*\})\s*$/s.exec(steps) ?? /^node-postgres extended protocol: (\{.*\})\s*$/s.exec(steps);
  if (json) {
    try {
      const o = JSON.parse(json[1]) as { sql?: string; text?: string };
      return o.sql ?? o.text ?? null;
    } catch {
      return null;
    }
  }
  const psql = /^psql gateway [\w-]+: (.+)$/s.exec(steps);
  // psql meta-commands (\du, \df) are not SQL: psql sends its own catalog queries.
  return psql && !psql[1].trim().startsWith('\\') ? psql[1].trim() : null;
}

async function refusedOn(via: string, sql: string): Promise<boolean> {
  if (via === 'mcp') {
    try {
      await requireReadOnly(sql);
      return false;
    } catch {
      return true;
    }
  }
  return !judgeSql(sql).readOnlyOk;
}

before(loadSqlParser);

test('wave-6 red team SQL (w6d, then w6b and w6c on the fixes) through mcp and the gateway decides as expected', async () => {
  const cases = ['wave6-data.jsonl', 'wave6b-data.jsonl', 'wave6c-data.jsonl'].flatMap((f) => readFileSync(new URL(`../../docs/redteam/${f}`, import.meta.url), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Case));
  const failures: string[] = [];
  let judged = 0;
  for (const c of cases) {
    if (c.via !== 'mcp' && c.via !== 'gateway') continue;
    const sql = sqlOf(c.steps);
    if (!sql) continue;
    judged++;
    const want = DECIDED[c.id]?.refused ?? (c.observed === 'leaked' || (c.expect === 'refused' && c.observed !== 'clean'));
    const refused = await refusedOn(c.via, sql);
    if (want !== refused) failures.push(`${c.id} ${c.via} ${refused ? 'refused' : 'allowed'} (want ${want ? 'refused' : 'allowed'}): ${sql}`);
  }
  assert.deepEqual(failures, []);
  assert.ok(judged >= 1400, `only ${judged} cases judged`);
});

test('w6d: function source, role settings and other sessions’ statement text are refused by column, whole rows too; other columns stay readable', async () => {
  const refused = [
    "select pg_get_functiondef('sd_fn'::regproc)",
    "select prosrc from pg_proc where proname = 'sd_fn'",
    'select p.prosrc from pg_catalog.pg_proc p',
    'select * from pg_proc',
    'select to_json(p) from pg_proc p',
    'select (p).proconfig from pg_proc p',
    'select routine_definition from information_schema.routines',
    'select * from information_schema.routines',
    'select rolconfig from pg_roles',
    "select * from pg_roles where rolname = current_user",
    'select useconfig from pg_user',
    'select query from pg_stat_activity',
    'select a.query from pg_stat_activity a',
    'select row_to_json(a) from pg_stat_activity a',
    'select pg_stat_activity from pg_stat_activity',
    'table pg_stat_activity',
    'select s from (select * from pg_stat_activity) s',
    'select setting from pg_settings',
    'select * from pg_settings',
    'select pg_config()',
    // Found by the lead after the red team: COPY holds its table bare (the relation walk missed
    // it, so COPY pg_db_role_setting passed the wave-5 tier too), and a FROM alias list renames
    // columns positionally.
    'COPY pg_proc TO STDOUT',
    'COPY pg_catalog.pg_proc (prosrc) TO STDOUT',
    'COPY pg_db_role_setting TO STDOUT',
    'select x from pg_proc as p(x, y, z)',
    'select p.proname from pg_proc as p(proname)',
    // Wave 6b (w6b-015/039/045/199/201): a join's alias is a whole row of every table in it.
    "select to_json(j)->>'prosrc' from (pg_proc cross join (select 1 as zz) s) as j",
    "select to_json(j)->>'query' from (pg_stat_activity cross join (select 1 as zz) s) as j where state = 'idle'",
    "select c12 from (pg_roles cross join (select 1 as zz) z) as j(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12)",
    "select (j).prosrc from (pg_proc cross join (select 1) z) j",
    "copy (select to_json(j)->>'prosrc' from (pg_proc cross join (select 1 as zz) s) as j) to stdout",
  ];
  const allowed = [
    'select count(*) from pg_stat_activity',
    'select state, count(*) from pg_stat_activity group by state',
    'select pg_stat_activity.pid from pg_stat_activity',
    'select pid, now() - xact_start as age from pg_stat_activity where xact_start is not null order by 2 desc',
    "select name from pg_settings where name = 'work_mem'",
    'select proname, pronargs from pg_proc where pronamespace = 2200',
    'select count(*) from pg_proc',
    'select rolname, rolcanlogin from pg_roles',
    'select routine_name from information_schema.routines',
    'COPY pg_proc (proname) TO STDOUT',
    'select count(*) from pg_stat_activity a join (select 1 as x) s on true',
  ];
  for (const sql of refused) {
    assert.equal(judgeSql(sql).readOnlyOk, false, `gateway allows: ${sql}`);
    await assert.rejects(requireReadOnly(sql), undefined, `mcp allows: ${sql}`);
  }
  for (const sql of allowed) {
    assert.equal(judgeSql(sql).readOnlyOk, true, `gateway refuses: ${sql} (${judgeSql(sql).reason})`);
    assert.equal(await requireReadOnly(sql), sql);
  }
});
