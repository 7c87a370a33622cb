/**
 * The outside red team's whole SQL corpus (test/gateway/corpus/redteam.jsonl: their cases.jsonl,
 * SQL cases as developer dave over the simple and extended protocol) replayed through a gateway
 * against a cluster with their schema, upstream as a superuser as in their setup. Every case
 * they expected to be denied must be refused or leave the data and catalog checksum unchanged;
 * every case they expected allowed and saw allowed must still be allowed. A `⏎` in a case
 * separates messages sent one after another in the same session, as the red team did.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sharedCluster } from '../helpers/pg.js';
import { gatewayFixture, type GatewayFixture } from './fixture.js';
import { REDTEAM_SETUP, RawSession, checksum } from './redteam-shared.js';

interface Case { id: string; protocol: 'simple' | 'extended'; sql: string; expect: 'allow' | 'deny'; observed: string }

/** Cases the red team saw allowed only through a bug since fixed: they must now be refused. */
const NOW_REFUSED: Record<string, string> = {
  'gw-101': 'SELECT pg_sleep(2) borrowed pg_sleep(1)’s read verdict from the shape cache (gw-235..239); over 1 s is a write',
  // A later red team (wave 5, w5d) read secrets through these with the gateway's credentials: a
  // lockdown token in another session's statement text, primary_conninfo and app.settings.* values.
  'gw-084': 'pg_stat_activity hands out other sessions’ statement text (a lockdown token SET in a deploy session)',
  'gw-095': 'SHOW ALL lists primary_conninfo and secrets kept in custom settings',
  'gw-319': 'pg_stat_get_backend_activity() returns another session’s statement text',
  // Wave 6 (w6d-050): a password written into a SECURITY DEFINER body was read this way.
  'gw-096': 'pg_get_functiondef() returns a function’s source, where a password written into a body shows',
};

const cases: Case[] = readFileSync(new URL('./corpus/redteam.jsonl', import.meta.url), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Case);

describe('gateway: the red team corpus', () => {
  const cluster = sharedCluster();
  let f: GatewayFixture;
  let db: string;
  before(async () => {
    f = await gatewayFixture(cluster(), 'rtc', { requireTls: false }, REDTEAM_SETUP);
    db = new URL(f.prodUrl).pathname.slice(1);
  });
  after(async () => {
    await f?.stop();
  });

  it(`replays ${cases.length} cases: denied ones change nothing, allowed ones still run`, async () => {
    const baseline = await checksum(f.prodUrl);
    const failures: string[] = [];
    let refused = 0;
    for (const c of cases) {
      const parts = c.sql.split(' ⏎ ');
      const s = await RawSession.open(f.port, db);
      let lastError: string | undefined;
      try {
        for (const part of parts) {
          // Extended cases bind a text value to each $n (the red team bound setting names there).
          const n = c.protocol === 'extended' ? new Set(part.match(/\$\d+/g) ?? []).size : 0;
          const r = c.protocol === 'extended' ? await s.extended(part, Array.from({ length: n }, () => (c.expect === 'allow' ? 'x' : 'default_transaction_read_only'))) : await s.query(part);
          lastError = r.error;
          if (r.error === 'closed') break;
        }
        // Simple cases with one statement go over the extended protocol too (the same Parse the drivers send).
        if (c.protocol === 'simple' && parts.length === 1 && !/pg_sleep/.test(c.sql)) await s.extended(c.sql);
      } finally {
        s.close();
      }
      if (lastError) refused++;
      if (NOW_REFUSED[c.id] && !lastError) failures.push(`${c.id} should now be refused: ${NOW_REFUSED[c.id]}`);
      if (c.expect === 'allow' && c.observed === 'allowed' && !NOW_REFUSED[c.id] && lastError) failures.push(`${c.id} (allowed before) is now refused: ${lastError}`);
      if (c.expect === 'deny' && (await checksum(f.prodUrl)) !== baseline) {
        failures.push(`${c.id} changed the database: ${c.sql}`);
        break;
      }
    }
    assert.deepEqual(failures, []);
    assert.ok(refused > cases.filter((c) => c.expect === 'deny').length / 2, 'most deny cases are refused outright');
  });
});
