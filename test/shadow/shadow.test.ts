/**
 * Shadow PITR for a hosted production: a Supabase-like "hosted" cluster (owner role `postgres`
 * without superuser, wal_level=logical, RLS policies naming the API roles), a self-hosted shadow
 * following it by logical replication with prodguard's streaming PITR, a workload committing every
 * 50 ms, then a bad DELETE. `shadow restore --time T` must bring back exactly the rows production
 * committed before T — checked against production's own commit timestamps (track_commit_timestamp
 * on the stand-in production, used only by the test) — with every sequence past its column's max.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import type { Cluster } from '../../src/pg/cluster.js';
import { createSupabaseCluster } from '../../src/supabase/scratch-cluster.js';
import { makeProject, minimalConfig, runCli } from '../helpers/cli.js';
import { sql } from '../helpers/pg.js';
import { contextFrom, type Context } from '../../src/context.js';
import { loadConfig } from '../../src/config/load.js';
import { startStreaming, type StreamHandle } from '../../src/restore/pitr/stream.js';
import { parseOriginCommits, cutAt } from '../../src/shadow/origin-commits.js';

let prod: Cluster;
let shadow: Cluster;
let target: Cluster;
let project: { dir: string; cleanup: () => void };
let env: Record<string, string>;
let ctx: Context;
let stream: StreamHandle;
let hook: Server;
const notified: Array<{ event: string; summary: string }> = [];

const cli = (args: string[]) => runCli(args, { cwd: project.dir, env, timeoutMs: 180_000 });

interface Op {
  kind: 'insert' | 'update' | 'delete' | 'bad-delete';
  xid: string;
  id?: number;
  amount?: number;
  at?: bigint;
}

before(async () => {
  [prod, shadow, target] = await Promise.all([
    createSupabaseCluster({ name: 'prodguard-shadow-prod', settings: { track_commit_timestamp: true } }),
    createSupabaseCluster({ name: 'prodguard-shadow-shadow' }),
    createSupabaseCluster({ name: 'prodguard-shadow-target' }),
  ]);
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      notified.push(JSON.parse(body));
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  const identity = await generateIdentity();
  project = makeProject({
    'prodguard.yaml': minimalConfig(`  shadow:
    kind: local
    urlEnv: SHADOW_DATABASE_URL
backup:
  encryption:
    recipients: [${await identityToRecipient(identity)}]
pitr:
  method: streaming
  walDir: wal-archive
notifications:
  webhooks:
    - name: ops
      urlEnv: OPS_WEBHOOK_URL
`),
  });
  chmodSync(project.dir, 0o755);
  env = {
    PRODUCTION_DATABASE_URL: prod.url(), // `postgres`: owner, not superuser, REPLICATION (as on hosted Supabase)
    SHADOW_DATABASE_URL: shadow.url('postgres', 'supabase_admin'),
    PRODGUARD_AGE_IDENTITY: identity,
    OPS_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`,
  };
  ctx = contextFrom(loadConfig({ cwd: project.dir }));
  await sql(prod.url(), `
    create table public.orders (id bigserial primary key, customer text not null, amount int not null);
    alter table public.orders enable row level security;
    create policy "own orders" on public.orders for select to authenticated using (customer = auth.uid()::text);
    grant select on public.orders to anon;
    create table public.carts (id int primary key, items int);
    create table public.events_log (at timestamptz default now(), msg text);
    insert into public.orders (customer, amount) select 'seed-' || g, g from generate_series(1, 100) g;
    insert into public.carts select g, g from generate_series(1, 20) g;`);
});

after(async () => {
  await stream?.stop().catch(() => {});
  await ctx?.close();
  await Promise.all([prod, shadow, target].map((c) => c?.destroy()));
  project?.cleanup();
  hook?.close();
});

function parseIso(s: string): bigint {
  const d = new Date(s.replace(' ', 'T').replace(/\+00$/, 'Z'));
  const frac = /\.(\d+)/.exec(s)?.[1] ?? '';
  return BigInt(Math.floor(d.getTime() / 1000)) * 1_000_000n + BigInt((frac + '000000').slice(0, 6));
}

/** The rows of orders a replay of `ops` committed strictly before `t` leaves. */
function expectedAt(seed: Map<number, number>, ops: Op[], t: bigint): Map<number, number> {
  const rows = new Map(seed);
  for (const op of ops) {
    if (op.at! >= t) break;
    if (op.kind === 'insert' || op.kind === 'update') rows.set(op.id!, op.amount!);
    else if (op.kind === 'delete') rows.delete(op.id!);
    else rows.clear();
  }
  return rows;
}

test('origin commit parsing skips tablesync and bookkeeping commits', () => {
  const out = parseOriginCommits([
    'rmgr: Transaction len (rec/tot):     85/    85, tx:        727, lsn: 0/0153A5B0, prev 0/0153A568, desc: COMMIT 2026-11-26 11:36:20.395203 UTC; inval msgs: catcache 66; origin: node 2, lsn 0/0, at 2026-11-26 11:36:20.285779 UTC',
    'rmgr: Transaction len (rec/tot):    117/   117, tx:        729, lsn: 0/0153A768, prev 0/0153A718, desc: COMMIT 2026-11-26 11:36:20.418430 UTC; origin: node 1, lsn 0/0, at 2000-01-01 00:00:00.000000 UTC',
    'rmgr: Transaction len (rec/tot):     57/    57, tx:        730, lsn: 0/0153A868, prev 0/0153A828, desc: COMMIT 2026-11-26 11:36:22.478896 UTC; origin: node 1, lsn 0/1660030, at 2026-11-26 11:36:22.277133 UTC',
    'rmgr: Transaction len (rec/tot):     57/    57, tx:        731, lsn: 0/0153A930, prev 0/0153A8F0, desc: COMMIT 2026-11-26 11:36:22.478934 UTC; origin: node 1, lsn 0/16600E8, at 2026-11-26 11:36:22.295766 UTC',
    'rmgr: Transaction len (rec/tot):     57/    57, tx:        732, lsn: 0/0153A9F8, prev 0/0153A9B8, desc: COMMIT 2026-11-26 11:36:22.478941 UTC',
  ].join('\n'), 1);
  assert.deepEqual(out.map((c) => [c.xid, c.lsn, c.originTime]), [[730, '0/0153A868', '2026-11-26T11:36:22.277133Z'], [731, '0/0153A930', '2026-11-26T11:36:22.295766Z']]);
  const cut = cutAt(out, out[1].originMicros);
  assert.equal(cut.lastBefore?.xid, 730, 'a commit exactly at T is not before T');
  assert.equal(cut.firstAfter?.xid, 731);
});

test('hosted production + shadow: enable, status, workload, bad DELETE, exact restore to T, sequences, drift', async (t) => {
  // enable: only what hosted Supabase grants its postgres role is used on production.
  const en = await cli(['shadow', 'enable', '--env', 'production', '--shadow', 'shadow', '--json']);
  assert.equal(en.code, 0, en.stderr);
  const enabled = JSON.parse(en.stdout);
  assert.deepEqual(enabled.tables, ['public.carts', 'public.orders']);
  assert.deepEqual(enabled.notCovered.map((n: { table: string }) => n.table), ['public.events_log'], 'a table without replica identity is left out, not made to break production UPDATEs');
  assert.equal(enabled.schemaCopied, true);
  assert.ok(enabled.pitr.baseBackup, 'first base backup of the shadow taken');
  const [{ su }] = await sql<{ su: boolean }>(prod.url(), 'select rolsuper as su from pg_roles where rolname = current_user');
  assert.equal(su, false, 'production role is not superuser');
  // The policy naming `authenticated` came over with the schema.
  assert.equal((await sql(env.SHADOW_DATABASE_URL, `select 1 from pg_policies where tablename = 'orders' and 'authenticated' = any(roles)`)).length, 1);
  // UPDATE on the table left out still works on production.
  await sql(prod.url(), `insert into events_log(msg) values ('x'); update events_log set msg = 'y'`);

  stream = await startStreaming(ctx, 'shadow', { env, intervalMs: 200, backoff: { initialMs: 200, maxMs: 1000 } });

  // Workload: one transaction every 50 ms, single client (commit order = op order).
  const seed = new Map((await sql<{ id: string; amount: number }>(prod.url(), 'select id::text, amount from orders')).map((r) => [Number(r.id), r.amount]));
  const live = [...seed.keys()];
  const ops: Op[] = [];
  let n = 0;
  const tick = async () => {
    const r = n++ % 3;
    if (r === 0 || live.length < 10) {
      const [row] = await sql<{ id: string; xid: string }>(prod.url(), `insert into orders (customer, amount) values ('w', $1) returning id::text, pg_current_xact_id()::text as xid`, [n]);
      live.push(Number(row.id));
      ops.push({ kind: 'insert', xid: row.xid, id: Number(row.id), amount: n });
    } else if (r === 1) {
      const id = live[(n * 7) % live.length];
      const [row] = await sql<{ xid: string }>(prod.url(), `update orders set amount = $2 where id = $1 returning pg_current_xact_id()::text as xid`, [id, 1000 + n]);
      ops.push({ kind: 'update', xid: row.xid, id, amount: 1000 + n });
    } else {
      const id = live.splice((n * 13) % live.length, 1)[0];
      const [row] = await sql<{ xid: string }>(prod.url(), `delete from orders where id = $1 returning pg_current_xact_id()::text as xid`, [id]);
      ops.push({ kind: 'delete', xid: row.xid, id });
    }
  };
  for (let i = 0; i < 60; i++) {
    await tick();
    await new Promise((r) => setTimeout(r, 50));
  }
  await sql(prod.url(), 'truncate carts');
  const [bad] = await sql<{ xid: string }>(prod.url(), `with d as (delete from orders returning 1) select pg_current_xact_id()::text as xid, (select count(*) from d) as n`);
  ops.push({ kind: 'bad-delete', xid: bad.xid });
  live.length = 0;
  for (let i = 0; i < 5; i++) await tick();

  // Production's own commit times of every workload transaction.
  for (const op of ops) {
    const [{ ts }] = await sql<{ ts: string }>(prod.url(), `select to_char(pg_xact_commit_timestamp($1::xid) at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as ts`, [op.xid]);
    op.at = parseIso(`${ts}+00`);
  }
  const badAt = ops.find((o) => o.kind === 'bad-delete')!.at!;

  // Wait until the shadow has applied everything and the receiver holds it.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [row] = await sql<{ lag: string | null }>(prod.url(), `select (pg_current_wal_lsn() - confirmed_flush_lsn)::text as lag from pg_replication_slots where slot_name = 'prodguard_shadow_production'`);
    if (row?.lag === '0') break;
    if (Date.now() > deadline) throw new Error(`shadow did not catch up (lag ${row?.lag})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal((await sql(env.SHADOW_DATABASE_URL, 'select 1 from carts')).length, 0, 'TRUNCATE replicated');
  await new Promise((r) => setTimeout(r, 700));

  const st = await cli(['shadow', 'status', '--env', 'production', '--json']);
  assert.equal(st.code, 0, st.stderr + st.stdout);
  const status = JSON.parse(st.stdout);
  assert.equal(status.subscription.workerRunning, true);
  assert.equal(status.subscription.applyErrors, 0);
  assert.equal(status.production.lagBytes, 0);
  assert.equal(status.lagSeconds, 0);
  assert.equal(parseIso(status.lastReplicatedCommit.replace('T', ' ').replace('Z', '+00')), ops[ops.length - 1].at, 'last replicated commit = production\'s newest commit time');
  assert.ok(status.window.earliest && status.window.baseBackups === 1);
  assert.ok(status.notCovered.some((n: { table: string }) => n.table === 'public.events_log'));
  assert.equal(status.drift.inSync, true);

  // The scheduled job (serve / a scheduled CI workflow): sequences synced, health checked.
  const job = await cli(['jobs', 'run', 'shadow:production', '--json']);
  assert.equal(job.code, 0, job.stderr + job.stdout);
  assert.match(job.stdout, /shadow of production: lag 0\.0 s/);
  const [{ lv }] = await sql<{ lv: string }>(env.SHADOW_DATABASE_URL, `select last_value::text as lv from orders_id_seq`);
  const [{ pv }] = await sql<{ pv: string }>(prod.url(), `select last_value::text as pv from orders_id_seq`);
  assert.equal(lv, pv, 'sequence synced to the shadow');

  // Rule 2 of the scorecard shows the shadow's PITR with its lag and window.
  const sc = await cli(['status', '--json']);
  const find = (x: unknown): { state: string; reason: string } | null => {
    if (!x || typeof x !== 'object') return null;
    if ((x as { id?: string }).id === 'shadow.pitr') return x as { state: string; reason: string };
    for (const v of Object.values(x)) {
      const f = find(v);
      if (f) return f;
    }
    return null;
  };
  const check = find(JSON.parse(sc.stdout));
  assert.ok(check, sc.stdout.slice(0, 500));
  assert.equal(check.state, 'ok', check.reason);
  assert.match(check.reason, /production: shadow PITR \(shadow\) window .* → .*, lag 0\.0 s/);

  // 1. The whole database as of just before the bad DELETE (T = its commit time: it is not before T).
  const tIso = (us: bigint) => new Date(Number(us / 1000n)).toISOString().replace(/\.\d+Z$/, `.${(us % 1_000_000n).toString().padStart(6, '0')}+00`).replace('T', ' ');
  // The target: a new Supabase-like project (its postgres role is not superuser either).
  const ra = await cli(['shadow', 'restore', '--env', 'production', '--time', tIso(badAt), '--to', target.url(), '--json']);
  assert.equal(ra.code, 0, ra.stderr);
  const resA = JSON.parse(ra.stdout);
  const gotA = new Map((await sql<{ id: string; amount: number }>(target.url(), 'select id::text, amount from orders')).map((r) => [Number(r.id), r.amount]));
  const wantA = expectedAt(seed, ops, badAt);
  assert.ok(wantA.size > 50);
  assert.deepEqual([...gotA.entries()].sort((a, b) => a[0] - b[0]), [...wantA.entries()].sort((a, b) => a[0] - b[0]), 'exactly the rows production committed before T');
  assert.equal((await sql(target.url(), 'select 1 from carts')).length, 0, 'the TRUNCATE (before T) is in the restore');
  assert.deepEqual(resA.counts.map((c: { table: string; source: number; target: number }) => c.source === c.target), [true, true]);
  const [seqA] = await sql<{ next: string; max: string }>(target.url(), `select nextval('orders_id_seq')::text as next, (select max(id) from orders)::text as max`);
  const maxEver = Math.max(...ops.filter((o) => o.at! < badAt && o.id).map((o) => o.id!));
  assert.ok(Number(seqA.next) > maxEver, `sequence past every id handed out before T (${seqA.next} > ${maxEver})`);
  // Policies and grants came along.
  assert.equal((await sql(target.url(), `select 1 from pg_policies where tablename = 'orders'`)).length, 1);

  // 2. A moment in the middle of the workload, exactly at a commit (excluded), surgical: --table/--where.
  const mid = ops[30];
  await sql(target.url(), 'create database restored_b');
  await sql(target.url('restored_b'), 'create table orders (id bigint primary key, customer text not null, amount int not null)');
  const rb = await cli(['shadow', 'restore', '--env', 'production', '--time', tIso(mid.at!), '--to', target.url('restored_b'), '--table', 'orders', '--where', 'id % 2 = 0', '--json']);
  assert.equal(rb.code, 0, rb.stderr);
  const gotB = (await sql<{ id: string; amount: number }>(target.url('restored_b'), 'select id::text, amount from orders')).map((r) => [Number(r.id), r.amount]).sort((a, b) => a[0] - b[0]);
  const wantB = [...expectedAt(seed, ops, mid.at!).entries()].filter(([id]) => id % 2 === 0).sort((a, b) => a[0] - b[0]);
  assert.deepEqual(gotB, wantB, `rows committed before op #30 (${mid.kind}) and none after`);
  assert.equal(JSON.parse(rb.stdout).counts[0].inserted, wantB.length);

  // The drill: everything the shadow holds, into a throw-away Supabase-like cluster; real RPO = the lag now.
  const dr = await cli(['shadow', 'drill', '--env', 'production', '--json']);
  assert.equal(dr.code, 0, dr.stderr);
  const drill = JSON.parse(dr.stdout);
  assert.equal(drill.ok, true);
  assert.equal(drill.tablesChecked, 2);
  assert.ok(drill.rpoMs !== null && drill.rtoMs > 0);
  assert.equal(parseIso(drill.lastRestoredCommit.replace('T', ' ').replace('Z', '+00')), ops[ops.length - 1].at, 'the drill restored up to production\'s newest commit');

  // Production is refused without break-glass.
  const rp = await cli(['shadow', 'restore', '--env', 'production', '--time', tIso(badAt), '--to', 'production', '--table', 'orders']);
  assert.equal(rp.code !== 0, true);
  assert.match(rp.stderr, /break-glass/);
  // …and by any other spelling of its server (red team ag-170: an IPv4-mapped IPv6 address), by system identifier.
  const mapped = prod.url().replace('127.0.0.1', '[::ffff:127.0.0.1]');
  assert.notEqual(mapped, prod.url());
  const rm = await cli(['shadow', 'restore', '--env', 'production', '--time', tIso(badAt), '--to', mapped]);
  assert.notEqual(rm.code, 0);
  assert.match(rm.stderr, /refusing to restore onto production's server: .* is the PostgreSQL server of environment "production" \(system identifier \d+/);

  // A migration through the pipeline: the shadow first, then production, then new tables published.
  mkdirSync(join(project.dir, 'migrations'), { recursive: true });
  const migration = `alter table public.orders add column status text not null default 'new';
create table public.refunds (id bigserial primary key, order_id bigint not null, amount int not null);`;
  writeFileSync(join(project.dir, 'migrations', '0001_status_and_refunds.sql'), migration);
  const sm = await cli(['shadow', 'migrate', '--env', 'production', '--json']);
  assert.equal(sm.code, 0, sm.stderr);
  assert.deepEqual(JSON.parse(sm.stdout).applied, ['0001_status_and_refunds.sql']);
  assert.equal((await cli(['shadow', 'migrate', '--env', 'production', '--json'])).code, 0, 'idempotent');
  await sql(prod.url(), migration); // what migrate deploy applies to production after the shadow
  await sql(prod.url(), `insert into orders (customer, amount, status) values ('after-migration', 7, 'paid')`);
  const pub = await cli(['shadow', 'migrate', '--env', 'production', '--publish', '--json']);
  assert.equal(pub.code, 0, pub.stderr);
  assert.deepEqual(JSON.parse(pub.stdout).published, ['public.refunds']);
  await sql(prod.url(), `insert into refunds (order_id, amount) values (1, 5)`);
  const until = Date.now() + 30_000;
  for (;;) {
    const a = await sql(env.SHADOW_DATABASE_URL, `select 1 from orders where customer = 'after-migration' and status = 'paid'`);
    const b = await sql(env.SHADOW_DATABASE_URL, `select 1 from refunds where amount = 5`);
    if (a.length === 1 && b.length === 1) break;
    if (Date.now() > until) throw new Error(`replication did not carry on after the migration (orders ${a.length}, refunds ${b.length})`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const after = JSON.parse((await cli(['shadow', 'status', '--env', 'production', '--json'])).stdout);
  assert.equal(after.subscription.applyErrors, 0, 'the migration never broke replication');
  assert.equal(after.drift.inSync, true, after.drift.differences.join('; '));

  // A hand-made schema change on production: detected, alerted, status fails.
  await sql(prod.url(), 'alter table orders add column note text');
  const drift = await cli(['shadow', 'status', '--env', 'production', '--notify', '--json']);
  assert.notEqual(drift.code, 0);
  const ds = JSON.parse(drift.stdout);
  assert.equal(ds.drift.inSync, false);
  assert.ok(ds.drift.differences.some((d: string) => /note/.test(d)), JSON.stringify(ds.drift.differences));
  assert.ok(notified.some((n) => n.event === 'drift.detected' && /note/.test(n.summary)), JSON.stringify(notified));

  // Red team ag-166: the shadow's WAL receiver dies while replication goes on — the recoverable
  // window stops growing, and status must say so (it used to read "lag 0 s", green).
  await stream.stop();
  await sql(prod.url(), `insert into orders (customer, amount, status) values ('after-receiver-died', 1, 'paid')`);
  for (let i = 0; i < 100; i++) {
    if ((await sql(env.SHADOW_DATABASE_URL, `select 1 from orders where customer = 'after-receiver-died'`)).length) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const dead = await cli(['shadow', 'status', '--env', 'production', '--json']);
  assert.notEqual(dead.code, 0, 'status fails while nothing archives the shadow');
  const ds2 = JSON.parse(dead.stdout);
  assert.ok(ds2.problems.some((p: string) => /WAL receiver is not connected \(prodguard pitr stream --env shadow\): the recoverable window stopped at/.test(p)), JSON.stringify(ds2.problems));
  assert.ok(ds2.lagSeconds > 0, `lag ${ds2.lagSeconds}`);

  // Giving the shadow up leaves nothing on production that would keep WAL.
  const dis = await cli(['shadow', 'disable', '--env', 'production', '--json']);
  assert.equal(dis.code, 0, dis.stderr);
  assert.equal((await sql(prod.url(), `select 1 from pg_replication_slots`)).length, 0, 'no slot left on production');
  assert.equal((await sql(prod.url(), `select 1 from pg_publication where pubname = 'prodguard_shadow'`)).length, 0);
  assert.equal((await sql(env.SHADOW_DATABASE_URL, `select 1 from pg_subscription`)).length, 0);
  assert.match((await cli(['shadow', 'status', '--env', 'production'])).stderr, /no shadow is set up/);
  t.diagnostic(`restore A ${resA.durationMs} ms`);
});
