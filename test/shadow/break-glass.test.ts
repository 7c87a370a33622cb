/**
 * A surgical repair of production from the shadow: `shadow restore --table --where --to production`
 * is refused without a break-glass grant, and under the grant of the person running it production
 * is backed up first and only the missing rows are inserted. The cut here falls before any
 * production transaction applied since the base backup, so the recovery target is "before the
 * first transaction at or after T" (the xid path of find-cut).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { createCluster, type Cluster } from '../../src/pg/cluster.js';
import { runCli } from '../helpers/cli.js';
import { sql } from '../helpers/pg.js';
import { emergencyProject, type EmergencyProject } from '../emergency/fixture.js';
import { openContext, type Context } from '../../src/context.js';
import { startStreaming, type StreamHandle } from '../../src/restore/pitr/stream.js';

let prod: Cluster;
let shadow: Cluster;
let p: EmergencyProject;
let ctx: Context;
let stream: StreamHandle | undefined;
let env: Record<string, string>;
const cli = (args: string[], actor = 'alice') => runCli(args, { cwd: p.dir, env: { ...env, PRODGUARD_ACTOR: actor }, timeoutMs: 180_000 });

before(async () => {
  [prod, shadow] = await Promise.all([
    createCluster({ name: 'prodguard-shadow-bg-prod', settings: { wal_level: 'logical' } }),
    createCluster({ name: 'prodguard-shadow-bg-shadow', settings: { max_wal_senders: 5 } }),
  ]);
  p = await emergencyProject(prod, 'sbg', {
    environments: { production: { kind: 'production', urlEnv: 'SBG_PROD_URL' }, shadow: { kind: 'local', urlEnv: 'SHADOW_DATABASE_URL' } },
    pitr: { method: 'streaming', walDir: 'wal' },
  });
  chmodSync(p.dir, 0o755);
  env = { ...p.env, SHADOW_DATABASE_URL: shadow.url() };
  process.env.SHADOW_DATABASE_URL = shadow.url();
  ctx = openContext({ cwd: p.dir });
});

after(async () => {
  await stream?.stop().catch(() => {});
  await ctx?.close();
  await Promise.all([prod?.destroy(), shadow?.destroy()]);
  p?.cleanup();
});

test('shadow restore --table onto production: refused without a grant; under one, production backed up first, missing rows inserted', async () => {
  const en = await cli(['shadow', 'enable', '--env', 'production', '--shadow', 'shadow', '--json']);
  assert.equal(en.code, 0, en.stderr);
  assert.deepEqual(JSON.parse(en.stdout).notCovered.map((n: { table: string }) => n.table), ['public.scratch']);
  stream = await startStreaming(ctx, 'shadow', { env, intervalMs: 200 });

  const [{ t }] = await sql<{ t: string }>(p.prodUrl, `select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' as t`);
  await new Promise((r) => setTimeout(r, 20));
  await sql(p.prodUrl, `update orders set status = 'paid' where id = 50`);
  await sql(p.prodUrl, `delete from orders where id <= 10`); // the mistake
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [row] = await sql<{ lag: string | null }>(p.prodUrl, `select (pg_current_wal_lsn() - confirmed_flush_lsn)::text as lag from pg_replication_slots where slot_name = 'prodguard_shadow_production'`);
    if (row?.lag === '0') break;
    if (Date.now() > deadline) throw new Error(`shadow did not catch up (${row?.lag})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 700));

  const args = ['shadow', 'restore', '--env', 'production', '--time', t, '--to', 'production', '--table', 'orders', '--where', 'id <= 10', '--json'];
  const refused = await cli(args, 'bob');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /needs an open break-glass grant/);
  const whole = await cli(['shadow', 'restore', '--env', 'production', '--time', t, '--to', 'production'], 'bob');
  assert.equal(whole.code, 1);
  assert.match(whole.stderr, /refusing to restore a whole database over production/);
  assert.equal((await sql(p.prodUrl, 'select 1 from orders where id <= 10')).length, 0, 'nothing written');

  const open = await cli(['break-glass', '--env', 'production', '--reason', 'bad DELETE of orders 1-10', '--duration', '5m', '--key', p.keys.bob, '--json'], 'bob');
  assert.equal(open.code, 0, open.stderr);
  assert.equal((await cli([...args, '--key', p.keys.alice], 'alice')).code, 1, 'alice holds no grant');
  assert.equal((await cli(args, 'bob')).code, 1, "calling yourself bob without bob's key proves nothing");
  const r = await cli([...args, '--key', p.keys.bob], 'bob');
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.ok(res.safetyBackupId, 'production backed up first');
  assert.match(res.recoveryTarget, /before transaction \d+/);
  assert.deepEqual(res.counts, [{ table: '"public"."orders"', source: 10, target: 10, inserted: 10 }]);
  const rows = await sql<{ id: number; status: string }>(p.prodUrl, 'select id, status from orders order by id');
  assert.equal(rows.length, 50);
  assert.equal(rows.find((x) => x.id === 50)!.status, 'paid', 'rows changed after T are left as they are');
});
