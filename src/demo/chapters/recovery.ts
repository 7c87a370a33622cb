/**
 * Demo chapter: a disaster at a known second on production (`DELETE FROM orders`,
 * `DROP TABLE customers`), then point-in-time recovery to the moment before it into a NEW cluster,
 * with the rows compared. Uses streaming WAL archiving, which needs no server restart.
 */
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import type { DemoChapter, DemoContext } from '../types.js';
import { withClient } from '../../pg/client.js';
import { makeServerDir } from '../../pg/cluster.js';
import { parseConnInfo } from '../../pg/conninfo.js';

async function q<T = Record<string, unknown>>(url: string, text: string): Promise<T[]> {
  return withClient(url, async (c) => (await c.query(text)).rows as T[]);
}

async function ensureShopTables(url: string): Promise<void> {
  const [{ n }] = await q<{ n: number }>(url, `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('orders', 'customers')`);
  if (n === 2) return;
  await q(url, `CREATE TABLE IF NOT EXISTS customers (id serial PRIMARY KEY, name text NOT NULL);
    CREATE TABLE IF NOT EXISTS orders (id serial PRIMARY KEY, customer_id int, total numeric NOT NULL);
    INSERT INTO customers(name) SELECT 'customer ' || g FROM generate_series(1, 300) g;
    INSERT INTO orders(customer_id, total) SELECT 1 + g % 300, g * 1.5 FROM generate_series(1, 2000) g;`);
}

async function counts(url: string): Promise<{ orders: number | string; customers: number | string }> {
  const one = async (t: string) => (await q<{ n: number }>(url, `SELECT count(*)::int AS n FROM ${t}`).catch(() => [{ n: 'table missing' as unknown as number }]))[0].n;
  return { orders: await one('orders'), customers: await one('customers') };
}

export const recoveryChapter: DemoChapter = {
  id: 'recovery',
  title: 'Point-in-time recovery: undoing a disaster to the second',
  async run(demo: DemoContext) {
    const { enablePitr } = await import('../../restore/pitr/enable.js');
    const { startStreaming } = await import('../../restore/pitr/stream.js');
    const { createBaseBackup } = await import('../../restore/pitr/base-backup.js');
    const { pitrRestore, parseTarget } = await import('../../restore/pitr/restore.js');
    const { generateIdentity, identityToRecipient } = await import('age-encryption');

    // Streaming archiving into the demo project; reuse the demo's backup recipients when it has them.
    const enc = demo.ctx.loaded.config.backup.encryption;
    const needKey = !enc.noEncrypt && enc.recipients.length === 0;
    const identity = needKey ? await generateIdentity() : null;
    const recipient = identity ? await identityToRecipient(identity) : null;
    if (identity) {
      demo.env[enc.identityEnv] = identity;
      process.env[enc.identityEnv] = identity;
    }
    await demo.updateConfig((raw) => {
      raw.pitr = { ...(raw.pitr ?? {}), method: 'streaming', walDir: '.prodguard/wal' };
      if (recipient) raw.backup = { ...(raw.backup ?? {}), encryption: { ...(raw.backup?.encryption ?? {}), recipients: [recipient] } };
    });
    const ctx = demo.ctx;
    const prod = demo.env.PRODUCTION_DATABASE_URL ?? demo.production.url();
    await ensureShopTables(prod);

    // A restore drill first, when an earlier chapter left a logical backup: proves it restores, records RTO/RPO.
    const { listBackups } = await import('../../backup/index.js');
    if ((await listBackups(demo.ctx, { env: 'production' })).length > 0) {
      const { runDrill } = await import('../../restore/drill.js');
      demo.showCommand('prodguard drill --env production');
      const d = await runDrill(demo.ctx, { environment: 'production' });
      demo.say(`drill ${d.ok ? 'passed' : 'FAILED'}: backup ${d.backupId} restored into a throw-away cluster, ${d.tablesChecked} tables' row counts checked, ${d.smoke.filter((x) => x.ok).length}/${d.smoke.length} smoke tests ok; RTO ${(d.rtoMs / 1000).toFixed(1)} s, RPO ${Math.round((d.rpoMs ?? 0) / 1000)} s.`);
      if (!d.ok) throw new Error(`restore drill failed: ${d.error}`);
    }

    demo.showCommand('prodguard pitr enable --env production');
    const en = await enablePitr(ctx, 'production', demo.env);
    demo.say(`WAL is now streamed from production (replication slot ${en.slot}) into an encrypted archive; no restart needed.`);
    const stream = await startStreaming(ctx, 'production', { env: demo.env, intervalMs: 200 });
    demo.onCleanup(() => stream.stop());
    demo.showCommand('prodguard pitr base-backup --env production');
    const base = await createBaseBackup(ctx, 'production', demo.env);
    demo.say(`base backup ${base.id}: ${base.startLsn} → ${base.stopLsn}`);

    const before = await counts(prod);
    demo.say(`production has ${before.customers} customers and ${before.orders} orders.`);
    // The disaster starts just after a second boundary, so "the second before it" holds every good commit.
    const ms = Date.now() % 1000;
    await new Promise((r) => setTimeout(r, 1000 - ms + 250));
    const [{ at, second }] = await q<{ at: string; second: string }>(prod, `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS at, to_char(date_trunc('second', clock_timestamp()) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS second`);
    demo.showCommand(`psql "$PRODUCTION_DATABASE_URL" -c 'DELETE FROM orders; DROP TABLE customers CASCADE'   # at ${at} UTC`);
    await withClient(prod, async (c) => {
      try {
        await c.query('BEGIN; DELETE FROM orders; DROP TABLE customers CASCADE; COMMIT');
      } catch {
        // The lockdown chapter's event triggers refuse the DROP: simulate a superuser session that bypasses them.
        await c.query('ROLLBACK');
        demo.say('(lockdown refused the DROP; simulating a superuser session that bypasses event triggers)');
        await c.query(`BEGIN; SET LOCAL session_replication_role = replica; DELETE FROM orders; DROP TABLE customers CASCADE; COMMIT`);
      }
    });
    const after = await counts(prod);
    demo.say(`after the disaster: customers ${after.customers}, orders ${after.orders}.`);

    const [{ sw }] = await q<{ sw: string }>(prod, 'SELECT pg_switch_wal()::text AS sw');
    // Wait until the receiver has flushed past the switch (not a fixed sleep: a loaded host lags).
    for (let i = 0; i < 300; i++) {
      const [row] = await q<{ ok: boolean }>(prod, `SELECT coalesce(bool_or(flush_lsn >= '${sw}'::pg_lsn), false) AS ok FROM pg_stat_replication`);
      if (row?.ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await stream.shipNow();
    const target = `${second}+00`;
    const dir = makeServerDir('prodguard-demo-pitr');
    demo.showCommand(`prodguard pitr restore --env production --time '${target}' --to ${join(dir, 'data')}`);
    const r = await pitrRestore(ctx, { environment: 'production', target: parseTarget({ time: target }), to: join(dir, 'data'), keepRunning: true, env: demo.env });
    demo.onCleanup(async () => {
      await r.cluster?.destroy();
      if (!demo.keep) for (const d of [dir, r.cluster?.baseDir]) if (d) rmSync(d, { recursive: true, force: true });
    });
    // Same database name as production's (the demo keeps its data in "qwikker", not "postgres").
    const restored = await counts(r.cluster!.url(parseConnInfo(prod)?.database ?? 'postgres'));
    demo.say(`${r.stoppedAt} (${(r.durationMs / 1000).toFixed(1)} s, ${r.segments} WAL segment(s)).`);
    demo.say(`rows compared — before the disaster: ${before.customers} customers / ${before.orders} orders; restored cluster: ${restored.customers} / ${restored.orders}; production now: ${after.customers} / ${after.orders}.`);
    if (String(restored.customers) !== String(before.customers) || String(restored.orders) !== String(before.orders)) {
      throw new Error('the restored cluster does not match production before the disaster');
    }
    demo.say('every row from before the disaster is back, in a new cluster; production itself was not touched.');
  },
};
