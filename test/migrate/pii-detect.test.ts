/** Personal-data detection on shapes the red team found it missed (ag-100, ag-103, ag-179). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedCluster, createDatabase } from '../helpers/pg.js';
import { withClient } from '../../src/pg/client.js';
import { detectPii } from '../../src/migrate/pii-detect.js';

const cluster = sharedCluster({ name: 'prodguard-test-pii-detect' });

test('composite-type columns are sampled; first/last/who columns are names; numbers and timestamps are not', async () => {
  const url = await createDatabase(cluster(), 'pii_shapes');
  const found = await withClient(url, async (c) => {
    await c.query(`
      CREATE TYPE addr AS (street text, owner_email text);
      CREATE TABLE shipments (id int PRIMARY KEY, dest addr, weight numeric, shipped_at timestamptz DEFAULT now());
      INSERT INTO shipments VALUES (1, ROW('1 Main St', 'ship1@realcorp.com'), 2.5), (2, ROW('2 Side St', 'ship2@realcorp.com'), 1);
      CREATE TABLE gen (id int, first text, last text);
      INSERT INTO gen VALUES (1, 'Heidi', 'Klum');
      CREATE SCHEMA crm;
      CREATE TABLE crm.leads (id int, who text, score int);
      INSERT INTO crm.leads VALUES (1, 'Lead Person', 42);`);
    return detectPii(c);
  });
  const key = (d: { schema: string; table: string; column: string }) => `${d.schema}.${d.table}.${d.column}`;
  const got = new Map(found.map((d) => [key(d), d.reasons]));
  assert.deepEqual(got.get('public.shipments.dest'), ['content holds e-mail addresses']);
  assert.match(String(got.get('public.gen.first')), /person's name/);
  assert.match(String(got.get('public.gen.last')), /person's name/);
  assert.match(String(got.get('crm.leads.who')), /person's name/);
  for (const quiet of ['public.shipments.weight', 'public.shipments.shipped_at', 'public.shipments.id', 'crm.leads.score']) assert.equal(got.has(quiet), false, quiet);
});
