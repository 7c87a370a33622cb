/**
 * Shadow PITR for hosted production: how much of production's recent past a shadow can lose (RPO)
 * under a write load, against the 2 minutes of Supabase's PITR add-on and the 24 h of daily dumps.
 *
 * A Supabase-like "hosted" cluster, a Supabase-like shadow subscribed to it, the shadow's streaming
 * WAL receiver (pg_receivewal --synchronous, the PITR archive's source) running. One client commits
 * an INSERT every 50 ms for 20 s; a sampler reads every 100 ms the newest row the shadow has applied
 * and the receiver's flush lag on the shadow. RPO of a transaction = (first sample where the shadow
 * has it) − (production's commit timestamp) + (receiver flush lag at that moment): when it is both
 * applied and in the shadow's WAL archive spool. Also one `shadow restore --time` (RTO, exact cut)
 * at the end. The comparison points are the documented worst cases of the alternatives.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import type { BenchResult, BenchRow } from './run.js';
import { createSupabaseCluster } from '../src/supabase/scratch-cluster.js';
import { withClient } from '../src/pg/client.js';
import { contextFrom } from '../src/context.js';
import { loadConfig } from '../src/config/load.js';
import { startStreaming } from '../src/restore/pitr/stream.js';
import { enableShadow } from '../src/shadow/enable.js';
import { shadowRestore } from '../src/shadow/restore.js';
import { quick } from './quick.js';

/** `npm run bench -- --quick` runs this bench at small sizes (bench/quick.ts). */
export const quickSupported = true;

const q = <T = any>(url: string, text: string, params: unknown[] = []) => withClient(url, async (c) => (await c.query(text, params)).rows as T[]);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

export async function run(): Promise<BenchResult> {
  const load = loadavg()[0];
  const [prod, shadow, target] = await Promise.all([
    createSupabaseCluster({ name: 'bench-shadow-prod', settings: { track_commit_timestamp: true } }),
    createSupabaseCluster({ name: 'bench-shadow-shadow' }),
    createSupabaseCluster({ name: 'bench-shadow-target' }),
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'bench-shadow-'));
  chmodSync(dir, 0o755);
  const identity = await generateIdentity();
  writeFileSync(join(dir, 'prodguard.yaml'), `version: 1
environments:
  production: { kind: production, urlEnv: PRODUCTION_DATABASE_URL }
  shadow: { kind: local, urlEnv: SHADOW_DATABASE_URL }
backup:
  encryption: { recipients: [${await identityToRecipient(identity)}] }
pitr: { method: streaming, walDir: wal }
`);
  const env = { ...process.env, PRODUCTION_DATABASE_URL: prod.url(), SHADOW_DATABASE_URL: shadow.url('postgres', 'supabase_admin'), PRODGUARD_AGE_IDENTITY: identity };
  const ctx = contextFrom(loadConfig({ cwd: dir }));
  let stream: Awaited<ReturnType<typeof startStreaming>> | undefined;
  try {
    await q(prod.url(), `create table public.bench_orders (id bigserial primary key, payload text not null, at timestamptz not null default clock_timestamp())`);
    await enableShadow(ctx, { environment: 'production', shadowEnv: 'shadow', env });
    stream = await startStreaming(ctx, 'shadow', { env, intervalMs: 500 });

    const commits: Array<{ id: number; xid: string }> = [];
    const seen = new Map<number, number>(); // id → first sample time (ms) the shadow had it
    const flushLags: number[] = [];
    let writing = true;
    const sampler = (async () => {
      while (writing || seen.size < commits.length) {
        const now = Date.now();
        const [a] = await q<{ m: string | null; fl: number | null }>(env.SHADOW_DATABASE_URL, `select (select max(id) from bench_orders)::text as m,
          (select extract(epoch from flush_lag) * 1000 from pg_stat_replication where application_name like 'pg_receivewal%' limit 1)::float8 as fl`);
        const max = a.m === null ? 0 : Number(a.m);
        for (const c of commits) if (c.id <= max && !seen.has(c.id)) seen.set(c.id, now + (a.fl ?? 0));
        if (a.fl !== null) flushLags.push(a.fl);
        if (!writing && Date.now() - now > 0 && seen.size < commits.length && Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    let deadline = Infinity;
    const until = Date.now() + (quick ? 5_000 : 20_000);
    while (Date.now() < until) {
      const [r] = await q<{ id: string; xid: string }>(prod.url(), `insert into bench_orders (payload) values (repeat('x', 200)) returning id::text, pg_current_xact_id()::text as xid`);
      commits.push({ id: Number(r.id), xid: r.xid });
      await new Promise((res) => setTimeout(res, 50));
    }
    writing = false;
    deadline = Date.now() + 60_000;
    await sampler;
    const rpo: number[] = [];
    for (const c of commits) {
      const [{ ts }] = await q<{ ts: number }>(prod.url(), `select (extract(epoch from pg_xact_commit_timestamp($1::xid)) * 1000)::float8 as ts`, [c.xid]);
      const got = seen.get(c.id);
      if (got !== undefined) rpo.push(got - ts);
    }
    const rows: BenchRow[] = [
      { subject: 'shadow RPO, median (production commit → applied on the shadow and flushed by its WAL receiver)', value: Math.round(pct(rpo, 50)), unit: 'ms', note: `${rpo.length}/${commits.length} commits, 100 ms sampling` },
      { subject: 'shadow RPO, p95', value: Math.round(pct(rpo, 95)), unit: 'ms' },
      { subject: 'shadow RPO, max', value: Math.round(Math.max(...rpo)), unit: 'ms' },
      { subject: 'WAL receiver flush_lag on the shadow, max', value: Math.round(flushLags.length ? Math.max(...flushLags) : 0), unit: 'ms' },
      { subject: "Supabase PITR add-on, worst case (documented)", value: 120_000, unit: 'ms', note: 'WAL shipped every 2 minutes' },
      { subject: 'daily logical dumps, worst case', value: 86_400_000, unit: 'ms' },
    ];
    // RTO of the exact cut: production just before the middle commit, into a new Supabase-like database.
    const mid = commits[Math.floor(commits.length / 2)];
    const [{ t }] = await q<{ t: string }>(prod.url(), `select to_char(pg_xact_commit_timestamp($1::xid) at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' as t`, [mid.xid]);
    await new Promise((r) => setTimeout(r, 1000));
    const started = Date.now();
    const r = await shadowRestore(ctx, { environment: 'production', time: t, to: target.url(), env });
    const restored = r.counts.find((c) => c.table === 'public.bench_orders')!.target;
    const expected = commits.filter((c) => c.id < mid.id).length;
    rows.push({ subject: 'shadow restore --time (RTO: WAL scan, PITR of the shadow, copy out, counts)', value: Date.now() - started, unit: 'ms', note: `${restored} rows restored, ${expected} committed before T${restored === expected ? ' (exact)' : ' (MISMATCH)'}` });
    const max = Math.max(...rpo);
    return {
      name: 'shadow',
      title: 'Shadow PITR for hosted production: RPO under a write load',
      goal: 'RPO ≤ 5 s (Supabase PITR add-on: 2 min)',
      met: rpo.length === commits.length && max <= 5000 && restored === expected,
      rows,
      setup: `one INSERT (200 B payload) every 50 ms for 20 s on a Supabase-like production (postgres role, not superuser); shadow = Supabase-like cluster, streaming PITR; load average ${load.toFixed(1)} at start (2 cores shared)`,
    };
  } finally {
    await stream?.stop().catch(() => {});
    await ctx.close();
    await Promise.all([prod.destroy(), shadow.destroy(), target.destroy()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
