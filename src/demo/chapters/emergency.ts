/**
 * Demo chapter: an incident at 3 a.m. A senior breaks the glass (a verified backup is taken
 * first, a local webhook receiver gets the alarm), fixes a row through the gateway under the
 * grant, the grant runs out by itself and the same statement is refused, and the generated
 * runbook is printed.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { DemoChapter } from '../types.js';
import { connectionUrl } from '../../config/connection.js';
import { generateKeys, loadPrivateKey } from '../../migrate/keys.js';
import { openBreakGlass } from '../../emergency/break-glass.js';
import { buildRunbook } from '../../emergency/runbook.js';
import { runbookMarkdown } from '../../emergency/runbook-render.js';
import { addUser, generatePassword } from '../../gateway/users.js';
import { policyInForce } from '../../policy/chain.js';
import { initPolicy, signPolicyProposal } from '../../policy/rotate.js';
import { ensurePitr } from './recovery.js';
import { startIncident } from '../../emergency/incident.js';


export const emergencyChapter: DemoChapter = {
  id: 'emergency',
  title: 'Emergencies: an incident, break-glass with a verified backup first, a fix through the gateway, notification, runbook',
  async run(demo) {
    const { startGateway } = await import('../../gateway/start.js');

    // The team's chat channel, played by a local webhook receiver.
    const received: Array<{ event: string; summary: string }> = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d) => (body += d)).on('end', () => {
        received.push(JSON.parse(body) as { event: string; summary: string });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    demo.onCleanup(() => new Promise<void>((r) => receiver.close(() => r())));
    process.env.DEMO_WEBHOOK_URL = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

    const keysDir = mkdtempSync(join(tmpdir(), 'prodguard-demo-keys-'));
    demo.onCleanup(() => rmSync(keysDir, { recursive: true, force: true }));
    demo.showCommand('prodguard keys generate --name sam');
    const key = generateKeys({ name: 'sam', outDir: keysDir });
    await demo.updateConfig((raw) => {
      raw.team = [...(raw.team ?? []).filter((m: { name: string }) => m.name !== 'sam'), { name: 'sam', role: 'senior', publicKey: key.publicKey }];
      raw.notifications = { ...(raw.notifications ?? {}), webhooks: [{ name: 'ops-chat', urlEnv: 'DEMO_WEBHOOK_URL' }] };
      raw.runbook = {
        ...(raw.runbook ?? {}),
        contacts: [{ name: 'sam', role: 'on-call senior', phone: '+1 555 0100', escalateAfter: '15min' }, ...((raw.runbook?.contacts as unknown[]) ?? [])],
        communication: { internal: 'INCIDENT: {what}. Impact: {impact}. Next update {next_update}.', customerEmail: 'We are working on an incident: {what}. {impact}. Next update by {next_update}.', statusPage: 'Investigating: {what}' },
      };
    });
    const ctx = demo.ctx;

    // Break-glass trusts only the signed, pinned policy in force, not prodguard.yaml: sam becomes
    // senior by a policy change the seniors in force sign (or, alone, by pinning the first policy).
    const current = (await policyInForce(ctx)).inForce;
    if (!current) {
      demo.showCommand('prodguard policy init --key ~/.config/prodguard/keys/sam.ed25519.key');
      await initPolicy(ctx, { keyFile: key.privateKeyFile });
    } else {
      let inForce = false;
      for (const m of current.policy.members.filter((x) => x.role === 'senior' && x.publicKey)) {
        const file = join(demo.keysDir ?? join(demo.projectDir, '.prodguard/keys'), `${m.name}.ed25519.key`);
        if (inForce || !existsSync(file)) continue;
        demo.showCommand(`prodguard policy sign --key ~/.config/prodguard/keys/${m.name}.ed25519.key   # sam joins as senior`);
        inForce = (await signPolicyProposal(ctx, { keyFile: file })).inForce;
      }
      if (!inForce) throw new Error('the policy change adding sam as senior did not reach the signature threshold');
    }
    demo.say('  sam is a senior of the policy in force');

    // Point-in-time recovery has been on since day one in a real project; the demo switches it on
    // here, after the last edit of prodguard.yaml, because the WAL stream keeps its context.
    await ensurePitr(demo);

    demo.say('\n03:07 — an order has a wrong note that breaks the invoice run. Sam is on call and senior.');
    demo.showCommand('prodguard incident start "invoice run blocked"');
    const incident = await startIncident(ctx, 'invoice run blocked');
    demo.state ??= {};
    demo.state.incident = incident.id;
    demo.showCommand('prodguard break-glass --env production --reason "invoice run blocked by order 1" --duration 10m --key ~/.config/prodguard/keys/sam.ed25519.key');
    const open = await openBreakGlass(ctx, { env: 'production', reason: 'invoice run blocked by order 1', durationMs: 10 * 60_000, key: loadPrivateKey(key.privateKeyFile), onPhase: (l) => demo.say(`  ${l}`) });
    demo.say(`  → open until ${open.grant.expiresAt} (grant ${open.grant.id}); backup ${open.record.backupId} verified first`);
    for (const r of received) demo.say(`  webhook received: ${r.event} — ${r.summary}`);

    const password = generatePassword();
    await addUser(await ctx.store(), ctx.loaded.config.team, { name: 'sam', member: 'sam', password, createdBy: 'demo' });
    const gw = await startGateway(ctx, { env: 'production', listen: '127.0.0.1:0' });
    demo.onCleanup(() => gw.gateway.close());
    const db = new URL(connectionUrl(ctx.loaded, 'production')).pathname.slice(1) || 'postgres';
    const url = `postgresql://sam:${encodeURIComponent(password)}@127.0.0.1:${gw.port}/${db}`;
    const run = async (sql: string): Promise<string> => {
      const c = new pg.Client({ connectionString: url, ssl: { rejectUnauthorized: false } });
      c.on('error', () => undefined);
      await c.connect();
      try {
        const r = await c.query(sql);
        return `${r.command} ${r.rowCount}`;
      } catch (err) {
        const e = err as { code?: string; message: string };
        return `ERROR ${e.code}: ${e.message}`;
      } finally {
        await c.end();
      }
    };
    demo.state.gateway = { url, port: gw.port, grantId: open.grant.id, run };
    const fix = `UPDATE orders SET legacy_note = 'fixed during incident' WHERE id = 1`;
    demo.showCommand(`psql "host=127.0.0.1 port=${gw.port} user=sam sslmode=require" -c "${fix}"`);
    const first = await run(fix);
    if (first !== 'UPDATE 1') throw new Error(`the fix under break-glass failed: ${first}`);
    demo.say(`  ${first}   (audited in the gateway log with grant ${open.grant.id})`);

    demo.showCommand('prodguard runbook   # generated from prodguard.yaml and the live state');
    const md = runbookMarkdown(await buildRunbook(ctx));
    const start = md.indexOf('## 1.');
    const end = md.indexOf('### Point-in-time restore');
    for (const line of md.slice(start, end > start ? end : undefined).trimEnd().split('\n')) demo.say(`  ${line}`);
    demo.say('  … (point-in-time restore, migration rollback, keys, last drill, communication templates)');
  },
};
