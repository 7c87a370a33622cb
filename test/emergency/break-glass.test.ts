/**
 * Break-glass against a real cluster: only a senior's key opens it; a failed backup keeps it
 * closed; --without-backup needs a second senior; once open the gateway lets the senior write
 * (statements audited with the grant id), the lockdown token lets a direct session DROP, the
 * guard lets incident tools through; after the (short) duration both the gateway and the database
 * refuse again with no prodguard process running in between; restore --replace onto production
 * only under a grant, with a backup of production first; end and list; the opening is notified.
 * Seniority comes from the signed, pinned policy in force: a developer who lists themselves as
 * senior in prodguard.yaml is refused (and audited), and without a policy in force nobody opens it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { sharedCluster, sql } from '../helpers/pg.js';
import { runCli } from '../helpers/cli.js';
import { startReceiver, type Receiver } from '../server/receiver.js';
import { emergencyProject, type EmergencyProject } from './fixture.js';
import { openContext, type Context } from '../../src/context.js';
import { openBreakGlass, listBreakGlass } from '../../src/emergency/break-glass.js';
import { generateKeys, loadPrivateKey } from '../../src/migrate/keys.js';
import { listGrants } from '../../src/grants/grants.js';
import { applyLockdown } from '../../src/lockdown/lockdown.js';
import { addUser } from '../../src/gateway/users.js';
import { startGateway } from '../../src/gateway/start.js';
import { connect } from '../../src/pg/client.js';
import { decide } from '../../src/guard/decide.js';
import { applyBreakGlassGrant } from '../../src/guard/break-glass-grant.js';
import { CREATE_CI_TOKEN_USE_SQL } from '../../src/policy/sql/ci-token-use.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function attempt(url: string, statements: string[]): Promise<string | null> {
  const c = await connect(url);
  try {
    for (const s of statements) await c.query(s);
    return null;
  } catch (e) {
    return (e as Error).message;
  } finally {
    await c.end();
  }
}

describe('prodguard break-glass', () => {
  const cluster = sharedCluster();
  let p: EmergencyProject;
  let ctx: Context;
  let receiver: Receiver;
  const cli = (args: string[], actor = 'alice') => runCli(args, { cwd: p.dir, env: { ...p.env, PRODGUARD_ACTOR: actor, OPS_HOOK: receiver.url } });

  before(async () => {
    receiver = await startReceiver();
    p = await emergencyProject(cluster(), 'bg', { notifications: { webhooks: [{ name: 'ops', urlEnv: 'OPS_HOOK' }], retryDelay: '50ms' } });
    process.env.OPS_HOOK = receiver.url;
    ctx = openContext({ cwd: p.dir });
    const l = ctx.loaded.config.lockdown;
    await applyLockdown(p.prodUrl, await ctx.store(), 'production', { schemas: l.schemas, applicationRoles: l.applicationRoles, readOnlyRole: l.readOnlyRole, deployerRole: l.deployerRole }, 'test');
  });
  after(async () => {
    await ctx?.close();
    await receiver?.close();
    p?.cleanup();
  });

  it("refuses a developer's key, and opens nothing", async () => {
    const r = await cli(['break-glass', '--env', 'production', '--reason', 'orders stuck', '--key', p.keys.dave], 'dave');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /dave has role developer; only role senior in the policy in force may break the glass/);
    assert.deepEqual(await listGrants(await ctx.store()), []);
    const last = ctx.auditLog.read().filter((x) => x.action === 'break-glass.open').at(-1)!;
    assert.equal(last.verdict, 'refused');
  });

  it('a developer who edits prodguard.yaml to make themselves senior (own key, or a new one) is refused, and audited', async () => {
    const team = p.config.team as Array<Record<string, unknown>>;
    const eve = generateKeys({ name: 'eve', outDir: join(p.dir, '.keys') });
    p.writeConfig({ ...p.config, team: [...team.map((m) => (m.name === 'dave' ? { ...m, role: 'senior' } : m)), { name: 'eve', role: 'senior', publicKey: eve.publicKey }] });
    try {
      const own = await cli(['break-glass', '--env', 'production', '--reason', 'just this once', '--key', p.keys.dave], 'dave');
      assert.equal(own.code, 1, own.stderr);
      assert.match(own.stderr, /dave has role developer; only role senior in the policy in force may break the glass/);
      const fresh = await cli(['break-glass', '--env', 'production', '--reason', 'just this once', '--key', eve.privateKeyFile], 'eve');
      assert.equal(fresh.code, 1, fresh.stderr);
      assert.match(fresh.stderr, /this key belongs to no member of the policy in force/);
      // Nor can the forged "senior" be the second senior of --without-backup.
      const second = await cli(['break-glass', '--env', 'production', '--reason', 'just this once', '--without-backup', '--key', p.keys.alice, '--second-key', p.keys.dave]);
      assert.equal(second.code, 1, second.stderr);
      assert.match(second.stderr, /dave has role developer/);
    } finally {
      p.writeConfig(p.config);
    }
    assert.deepEqual(await listGrants(await ctx.store()), []);
    const refused = ctx.auditLog.read().filter((x) => x.action === 'break-glass.open').slice(-3);
    assert.deepEqual(refused.map((x) => x.verdict), ['refused', 'refused', 'refused']);
    assert.match(refused[0].reason ?? '', /dave has role developer/);
    assert.match(refused[1].reason ?? '', /no member of the policy in force/);
  });

  it('keeps the glass closed when the backup before it fails', async () => {
    const saved = process.env.BG_PROD_URL;
    process.env.BG_PROD_URL = 'postgresql://postgres@127.0.0.1:1/nowhere';
    try {
      await assert.rejects(
        openBreakGlass(ctx, { env: 'production', reason: 'orders stuck', durationMs: 60_000, key: loadPrivateKey(p.keys.alice) }),
        /the backup before opening failed, the glass stays closed/,
      );
    } finally {
      process.env.BG_PROD_URL = saved;
    }
    assert.deepEqual(await listGrants(await ctx.store()), []);
    assert.ok(receiver.bodies.some((b) => (b as { event: string }).event === 'backup.failed'));
  });

  it('--without-backup needs a second, different senior', async () => {
    const r = await cli(['break-glass', '--env', 'production', '--reason', 'disk full', '--without-backup', '--key', p.keys.alice]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /second senior's key/);
    const same = await cli(['break-glass', '--env', 'production', '--reason', 'disk full', '--without-backup', '--key', p.keys.alice, '--second-key', p.keys.alice]);
    assert.equal(same.code, 1);
    assert.match(same.stderr, /second, different senior/);
    const dev = await cli(['break-glass', '--env', 'production', '--reason', 'disk full', '--without-backup', '--key', p.keys.alice, '--second-key', p.keys.dave]);
    assert.equal(dev.code, 1);
    assert.deepEqual(await listGrants(await ctx.store()), []);
  });

  it('opens with a verified backup; gateway, lockdown and guard honour it; everything closes by itself at expiry', async () => {
    const r = await cli(['break-glass', '--env', 'production', '--reason', 'orders stuck in open', '--duration', '12s', '--key', p.keys.alice, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { grant: { id: string; expiresAt: string }; backupId: string; lockdownToken: string };
    assert.match(out.backupId, /./);
    assert.match(out.lockdownToken, /^[0-9a-f]{64}$/);
    const hot = await cli(['check', `psql "$BG_PROD_URL" -c "UPDATE orders SET status = 'paid' WHERE id = 8"`]);
    assert.equal(hot.code, 0, hot.stdout + hot.stderr);
    assert.match(hot.stdout, /break-glass grant/);
    const opened = receiver.bodies.find((b) => (b as { event: string }).event === 'break-glass.opened') as Record<string, unknown>;
    assert.equal(opened.grantId, out.grant.id);

    // The gateway: alice writes, every statement audited with the grant id.
    const store = await ctx.store();
    await addUser(store, ctx.loaded.config.team, { name: 'alice', member: 'alice', password: 'alice-password-123', createdBy: 'test' });
    const gw = await startGateway(ctx, { env: 'production' });
    const gwUrl = `postgresql://alice:alice-password-123@127.0.0.1:${gw.port}/bg_prod`;
    try {
      const c = new pg.Client({ connectionString: gwUrl, ssl: { rejectUnauthorized: false } });
      await c.connect();
      await c.query(`UPDATE orders SET status = 'paid' WHERE id = 7`);
      await c.end();
      gw.gateway.flushAudit();
      const audit = readFileSync(join(p.dir, '.prodguard/gateway-audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const upd = audit.find((a) => /UPDATE orders/.test(a.command));
      assert.equal(upd.details.grant, out.grant.id);
      assert.equal((await sql<{ s: string }>(p.prodUrl, 'SELECT status AS s FROM orders WHERE id = 7'))[0].s, 'paid');

      // The database: the token lets a direct session drop a table.
      assert.equal(await attempt(p.prodUrl, [`SET prodguard.token = '${out.lockdownToken}'`, 'DROP TABLE scratch']), null);

      // The guard: a hot-fix and pg_terminate_backend pass for alice, DROP does not, dave gets nothing.
      // (in-process, the same two calls `prodguard check` makes; the CLI path is checked below)
      const judge = async (command: string, actor: string) =>
        (await applyBreakGlassGrant(ctx.loaded, await decide({ command, cwd: p.dir, env: process.env, config: ctx.loaded }), actor)).decision;
      assert.equal(await judge(`psql "$BG_PROD_URL" -c 'SELECT pg_terminate_backend(12345)'`, 'alice'), 'allow');
      assert.equal(await judge(`psql "$BG_PROD_URL" -c 'SELECT pg_cancel_backend(12345)'`, 'alice'), 'allow');
      assert.equal(await judge(`psql "$BG_PROD_URL" -c 'DROP TABLE orders'`, 'alice'), 'deny');
      assert.equal(await judge(`dropdb -d "$BG_PROD_URL" bg_prod`, 'alice'), 'deny');
      assert.equal(await judge(`psql "$BG_PROD_URL" -c "UPDATE orders SET status = 'x' WHERE id = 8"`, 'dave'), 'deny');

      // Expiry: nothing runs in between; the grant and the token carry their own end.
      await sleep(Math.max(0, Date.parse(out.grant.expiresAt) - Date.now()) + 500);
      const c2 = new pg.Client({ connectionString: gwUrl, ssl: { rejectUnauthorized: false } });
      await c2.connect();
      await assert.rejects(c2.query(`UPDATE orders SET status = 'late' WHERE id = 9`), /read-only|refused/);
      await c2.end();
      assert.match((await attempt(p.prodUrl, [`SET prodguard.token = '${out.lockdownToken}'`, 'DROP TABLE orders'])) ?? '', /prodguard/);
      assert.equal((await cli(['check', `psql "$BG_PROD_URL" -c "UPDATE orders SET status = 'paid' WHERE id = 8"`])).code, 1);
    } finally {
      await gw.gateway.close();
    }
    const list = await listBreakGlass(ctx);
    assert.equal(list.find((x) => x.grantId === out.grant.id)!.state, 'expired');
  });

  it('restore --replace onto production only under a grant, backing production up first', async () => {
    const refused = await cli(['restore', 'latest', '--to', 'production', '--replace']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /needs an open break-glass grant/);
    const open = await cli(['break-glass', '--env', 'production', '--reason', 'bad deploy wiped statuses', '--duration', '5m', '--key', p.keys.bob, '--json'], 'bob');
    assert.equal(open.code, 0, open.stderr);
    const grantId = JSON.parse(open.stdout).grant.id as string;
    // alice holds no grant: still refused.
    assert.equal((await cli(['restore', 'latest', '--to', 'production', '--replace', '--key', p.keys.alice], 'alice')).code, 1);
    // A name proves nothing: calling yourself bob without bob's key is refused, with or without a key of your own.
    const named = await cli(['restore', 'latest', '--to', 'production', '--replace'], 'bob');
    assert.equal(named.code, 1);
    assert.match(named.stderr, /pass --key <file>, the private key of the break-glass grant's holder \(bob\)/);
    const dave = await cli(['restore', 'latest', '--to', 'production', '--replace', '--key', p.keys.dave], 'bob');
    assert.equal(dave.code, 1);
    assert.match(dave.stderr, /held by the owner of this key \(dave\)/);
    // w5c-048: a deploy token production accepted after the backup was taken stays used after the restore.
    await sql(p.prodUrl, `${CREATE_CI_TOKEN_USE_SQL}; INSERT INTO prodguard.ci_token_use (token_id, issuer, subject, change_hash) VALUES ('jti-after-backup', 'https://token.actions.githubusercontent.com', 'repo:acme/shop:ref:refs/heads/main', 'abc')`);
    const r = await cli(['restore', 'latest', '--to', 'production', '--replace', '--key', p.keys.bob, '--json'], 'dave');
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.match(res.safetyBackupId, /./);
    assert.deepEqual(await sql(p.prodUrl, `SELECT token_id FROM prodguard.ci_token_use`), [{ token_id: 'jti-after-backup' }]);
    const rec = ctx.auditLog.read().filter((x) => x.action === 'restore').at(-1)!;
    assert.equal(rec.verdict, 'ok');
    assert.equal(rec.details?.grant, grantId);

    const end = await cli(['break-glass', 'end', '--env', 'production'], 'bob');
    assert.equal(end.code, 0, end.stderr);
    const list = await cli(['break-glass', 'list', '--json']);
    const rows = JSON.parse(list.stdout) as Array<{ grantId: string; state: string }>;
    assert.equal(rows.find((x) => x.grantId === grantId)!.state, 'ended');
    assert.ok(rows.some((x) => x.state === 'expired'));
    assert.equal((await cli(['restore', 'latest', '--to', 'production', '--replace', '--key', p.keys.bob], 'bob')).code, 1);
    assert.ok(receiver.bodies.some((b) => (b as { event: string }).event === 'break-glass.closed'));
  });

  it('with no policy in force nobody opens it, whatever prodguard.yaml says', async () => {
    const q = await emergencyProject(cluster(), 'bgnp', {}, { pin: false });
    try {
      const r = await runCli(['break-glass', '--env', 'production', '--reason', 'orders stuck', '--key', q.keys.alice], { cwd: q.dir, env: { ...q.env, PRODGUARD_ACTOR: 'alice' } });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /no policy in force: a senior pins the first one with prodguard policy init --key <file>/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      const qctx = openContext({ cwd: q.dir });
      try {
        assert.deepEqual(await listGrants(await qctx.store()), []);
        assert.equal(qctx.auditLog.read().filter((x) => x.action === 'break-glass.open').at(-1)!.verdict, 'refused');
      } finally {
        await qctx.close();
      }
    } finally {
      q.cleanup();
      Object.assign(process.env, p.env); // the second project set its own age identity
    }
  });

  it('--without-backup opens with a second senior\'s key, takes no backup and records who agreed', async () => {
    const r = await cli(['break-glass', '--env', 'production', '--reason', 'backup destination down, orders stuck', '--without-backup', '--key', p.keys.alice, '--second-key', p.keys.bob, '--duration', '2m', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { grant: { id: string }; backupId: string | null };
    assert.equal(out.backupId, null);
    const rec = (await listBreakGlass(ctx)).find((x) => x.grantId === out.grant.id)!;
    assert.equal(rec.secondSenior, 'bob');
    assert.equal(rec.state, 'active');
    assert.equal((await cli(['break-glass', 'end', '--env', 'production', '--grant', out.grant.id])).code, 0);
    assert.equal((await cli(['break-glass', 'end', '--env', 'production'])).code, 2, 'nothing left to end');
  });
});
