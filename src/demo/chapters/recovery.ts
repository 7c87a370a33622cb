/**
 * Demo chapter: a real disaster anyway. Under break-glass (chapter "emergency" opened it), sam
 * runs a DELETE whose WHERE matches every order; point-in-time recovery restores production as it
 * was the second before, into a NEW cluster, and the deleted rows are copied back — with the
 * recovery time measured from the DELETE to the last row back. Then the break-glass ends and the
 * same write is refused again. Run alone (`--chapter recovery`), the DELETE comes from a direct
 * superuser session and WAL streaming is set up here.
 */
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import type { DemoChapter, DemoContext } from '../types.js';
import { withClient } from '../../pg/client.js';
import { makeServerDir } from '../../pg/cluster.js';
import { parseConnInfo } from '../../pg/conninfo.js';
import { humanDuration } from '../../status/units.js';
import { enablePitr } from '../../restore/pitr/enable.js';
import { startStreaming } from '../../restore/pitr/stream.js';
import { createBaseBackup } from '../../restore/pitr/base-backup.js';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { parseTarget, pitrRestore } from '../../restore/pitr/restore.js';
import { connectionUrl } from '../../config/connection.js';
import { noteIncident } from '../../emergency/incident.js';
import { endBreakGlass } from '../../emergency/break-glass.js';

async function q<T = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  return withClient(url, async (c) => (await c.query(text, params)).rows as T[]);
}

async function ensureShopTables(url: string): Promise<void> {
  const [{ n }] = await q<{ n: number }>(url, `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('orders', 'customers')`);
  if (n === 2) return;
  await q(url, `CREATE TABLE IF NOT EXISTS customers (id serial PRIMARY KEY, name text NOT NULL);
    CREATE TABLE IF NOT EXISTS orders (id serial PRIMARY KEY, customer_id int, total numeric NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
    INSERT INTO customers(name) SELECT 'customer ' || g FROM generate_series(1, 300) g;
    INSERT INTO orders(customer_id, total) SELECT 1 + g % 300, g * 1.5 FROM generate_series(1, 2000) g;`);
}

async function orderCount(url: string): Promise<number> {
  return (await q<{ n: number }>(url, 'SELECT count(*)::int AS n FROM orders'))[0].n;
}

interface PitrState {
  stop(): Promise<void>;
  shipNow(): Promise<unknown>;
}

/**
 * Continuous WAL archiving of production (streaming: no server restart) and a base backup. Started
 * once, after the last change to prodguard.yaml: the stream keeps the context it was started with.
 */
export async function ensurePitr(demo: DemoContext): Promise<PitrState> {
  demo.state ??= {};
  if (demo.state.pitr) return demo.state.pitr as PitrState;
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
  demo.showCommand('prodguard pitr enable --env production   # once, on day one');
  const en = await enablePitr(ctx, 'production', demo.env);
  demo.say(`  WAL is streamed from production (replication slot ${en.slot}) into an encrypted archive; no restart needed.`);
  const stream = await startStreaming(ctx, 'production', { env: demo.env, intervalMs: 200 });
  demo.onCleanup(() => stream.stop());
  demo.showCommand('prodguard pitr base-backup --env production   # weekly (schedules)');
  const base = await createBaseBackup(ctx, 'production', demo.env);
  demo.say(`  base backup ${base.id}: ${base.startLsn} → ${base.stopLsn}`);
  demo.state.pitr = stream;
  return stream;
}

/** The gateway connection chapter "emergency" left: sam's login under the break-glass grant. */
interface GatewayState {
  url: string;
  port: number;
  grantId: string;
  run(sql: string): Promise<string>;
}

export const recoveryChapter: DemoChapter = {
  id: 'recovery',
  title: 'A real disaster anyway: a bad DELETE under break-glass, undone by point-in-time recovery',
  async run(demo: DemoContext) {
    const prod = connectionUrl(demo.ctx.loaded, 'production');
    await ensureShopTables(prod);
    const stream = await ensurePitr(demo);
    const ctx = demo.ctx;
    const gw = demo.state?.gateway as GatewayState | undefined;

    const before = await orderCount(prod);
    demo.say(`production has ${before} orders.`);
    // The DELETE starts just after a second boundary, so "the second before it" holds every good commit.
    const ms = Date.now() % 1000;
    await new Promise((r) => setTimeout(r, 1000 - ms + 250));
    const [{ at, second }] = await q<{ at: string; second: string }>(prod, `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS at, to_char(date_trunc('second', clock_timestamp()) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS second`);
    const bad = 'DELETE FROM orders WHERE created_at < now()';
    const t0 = Date.now();
    if (gw) {
      demo.say('03:19 — still under break-glass, sam cleans up the test orders the invoice run choked on. The WHERE matches every order:');
      demo.showCommand(`psql "host=127.0.0.1 port=${gw.port} user=sam sslmode=require" -c "${bad}"   # at ${at} UTC`);
      const res = await gw.run(bad);
      if (!res.startsWith('DELETE')) throw new Error(`the DELETE under break-glass did not run: ${res}`);
      demo.say(`  ${res}   (the gateway allowed it: the grant is open; audited with grant ${gw.grantId})`);
    } else {
      demo.showCommand(`psql "$PRODUCTION_DATABASE_URL" -c "${bad}"   # at ${at} UTC, a superuser session`);
      await q(prod, bad);
    }
    const after = await orderCount(prod);
    demo.say(`orders in production now: ${after}. Guards cannot stop a write the person is allowed to make; recovery has to be there.`);
    if (demo.state?.incident) {
      await noteIncident(ctx, `${before - after} orders deleted by a DELETE under break-glass; starting point-in-time recovery to ${second} UTC`);
      demo.showCommand(`prodguard incident note "${before - after} orders deleted by a bad DELETE; PITR to ${second} UTC"`);
    }

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
    demo.showCommand(`prodguard pitr restore --env production --time '${target}' --to ${join(dir, 'data')}   # into a NEW cluster, never over production`);
    const r = await pitrRestore(ctx, { environment: 'production', target: parseTarget({ time: target }), to: join(dir, 'data'), keepRunning: true, env: demo.env });
    demo.onCleanup(async () => {
      await r.cluster?.destroy();
      if (!demo.keep) for (const d of [dir, r.cluster?.baseDir]) if (d) rmSync(d, { recursive: true, force: true });
    });
    const restoredUrl = r.cluster!.url(parseConnInfo(prod)?.database ?? 'postgres');
    const restored = await orderCount(restoredUrl);
    demo.say(`  ${r.stoppedAt} (${humanDuration(r.durationMs)}, ${r.segments} WAL segment(s)); the new cluster has ${restored} orders.`);
    if (restored !== before) throw new Error(`the restored cluster has ${restored} orders, production had ${before} before the DELETE`);

    // Copy back only what is missing: production keeps every write made since.
    demo.showCommand('copy the missing orders back: INSERT … SELECT from the restored cluster, ON CONFLICT (id) DO NOTHING');
    const rows = await q<{ j: unknown[] }>(restoredUrl, `SELECT coalesce(json_agg(o), '[]'::json) AS j FROM orders o`);
    const inserted = await withClient(prod, async (c) => {
      const res = await c.query(`INSERT INTO orders OVERRIDING SYSTEM VALUE SELECT * FROM json_populate_recordset(null::orders, $1::json) ON CONFLICT (id) DO NOTHING`, [JSON.stringify(rows[0].j)]);
      return res.rowCount ?? 0;
    });
    const recoveredMs = Date.now() - t0;
    const now = await orderCount(prod);
    demo.say(`  ${inserted} orders copied back; production has ${now} orders again (${before} before the DELETE).`);
    if (now !== before) throw new Error(`production has ${now} orders after recovery, ${before} before the DELETE`);
    demo.say(`  measured: from the DELETE to the last row back ${humanDuration(recoveredMs)} (point-in-time restore ${humanDuration(r.durationMs)}); orders lost: none.`);
    await ctx.audit({ action: 'demo.recovered', command: 'copy back from the PITR cluster', target: 'production', verdict: 'ok', reason: `${inserted} orders restored from PITR to ${target} in ${humanDuration(recoveredMs)}` });
    if (demo.state?.incident) {
      await noteIncident(ctx, `all ${before} orders back in production (${inserted} copied from the PITR cluster); recovery took ${humanDuration(recoveredMs)}`);
    }

    if (gw) {
      demo.showCommand('prodguard break-glass end --env production   # (it would also have expired by itself)');
      await endBreakGlass(ctx, { env: 'production', grantId: gw.grantId });
      demo.say('  grant revoked, lockdown token withdrawn; the webhook was told.');
      demo.showCommand(`psql "host=127.0.0.1 port=${gw.port} user=sam sslmode=require" -c "${bad}"`);
      const again = await gw.run(bad);
      if (!again.startsWith('ERROR 25006')) throw new Error(`the gateway still allowed writes after break-glass ended: ${again}`);
      demo.say(`  ${again}`);
    }
  },
};
