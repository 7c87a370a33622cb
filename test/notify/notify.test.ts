/**
 * Notifications over real HTTP on loopback: a receiver that fails twice then answers gets the
 * event once, on the third attempt; Slack-compatible channels get `{ text }`; a receiver that
 * never comes back leaves a failure record that `status` shows (rule 6) and `notify test` exits 1.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { makeProject, runCli } from '../helpers/cli.js';
import { openContext } from '../../src/context.js';
import { sendNotification } from '../../src/notify/send.js';
import { listNotifyFailures } from '../../src/notify/failures.js';
import { startReceiver } from '../server/receiver.js';
import { startSmtpReceiver } from './smtp-receiver.js';
import { loadConfig } from '../../src/config/load.js';

interface Flaky {
  url: string;
  hits: number;
  bodies: unknown[];
  close(): Promise<void>;
}

/** Answers 503 to the first `failures` requests, then 204 and records the body. */
async function flakyReceiver(failures: number): Promise<Flaky> {
  const state = { hits: 0, bodies: [] as unknown[] };
  const server: Server = createServer((req, res) => {
    let data = '';
    req.setEncoding('utf8').on('data', (d) => (data += d)).on('end', () => {
      state.hits++;
      if (state.hits <= failures) return void res.writeHead(503).end();
      state.bodies.push(JSON.parse(data));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    get hits() { return state.hits; },
    bodies: state.bodies,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A loopback port nothing listens on any more (a receiver that never comes back). */
async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}/hook`;
}

describe('notifications', () => {
  let project: { dir: string; cleanup(): void };
  before(() => {
    project = makeProject({});
    writeFileSync(join(project.dir, 'prodguard.yaml'), stringify({
      version: 1,
      project: { name: 'acme' },
      environments: { production: { kind: 'production', urlEnv: 'NOTIFY_PROD_URL' } },
      notifications: { webhooks: [{ name: 'ops', urlEnv: 'OPS_HOOK' }, { name: 'chat', urlEnv: 'CHAT_HOOK', format: 'slack' }], retries: 3, retryDelay: '20ms' },
    }));
  });
  after(() => project?.cleanup());

  it('retries with back-off: a receiver that fails twice gets the event once, on the third attempt', async () => {
    const ops = await flakyReceiver(2);
    const chat = await flakyReceiver(0);
    const ctx = openContext({ cwd: project.dir });
    try {
      const out = await sendNotification(ctx.loaded, { event: 'backup.failed', project: 'acme', environment: 'production', summary: 'pg_dump exited 1 (password=hunter2)', at: new Date().toISOString() }, { env: { OPS_HOOK: ops.url, CHAT_HOOK: chat.url }, store: await ctx.store() });
      assert.deepEqual(out.map((o) => [o.webhook, o.ok, o.attempts]), [['ops', true, 3], ['chat', true, 1]]);
      assert.equal(ops.hits, 3);
      assert.equal(ops.bodies.length, 1);
      const body = ops.bodies[0] as Record<string, unknown>;
      assert.equal(body.event, 'backup.failed');
      assert.equal(body.environment, 'production');
      assert.doesNotMatch(JSON.stringify(body), /hunter2/);
      assert.match((chat.bodies[0] as { text: string }).text, /:rotating_light: prodguard acme: a backup failed \(production\)/);
      assert.deepEqual(await listNotifyFailures(await ctx.store()), []);
    } finally {
      await ctx.close();
      await ops.close();
      await chat.close();
    }
  });

  it('commands notify: a failed backup and a command blocked by the guard reach the channels', async () => {
    const ops = await startReceiver();
    const chat = await startReceiver();
    const env = { OPS_HOOK: ops.url, CHAT_HOOK: chat.url, NOTIFY_PROD_URL: 'postgresql://app:pw-not-shown@127.0.0.1:1/app' };
    try {
      const b = await runCli(['backup', 'create', '--env', 'production', '--quiet'], { cwd: project.dir, env });
      assert.notEqual(b.code, 0);
      const g = await runCli(['guard', '--', 'psql', env.NOTIFY_PROD_URL, '-c', 'DROP TABLE orders'], { cwd: project.dir, env: { ...env, PRODGUARD_ACTOR: 'dave' } });
      assert.equal(g.code, 1, g.stderr);
      const events = ops.bodies.map((x) => (x as { event: string }).event);
      assert.deepEqual(events, ['backup.failed', 'guard.blocked']);
      assert.match((ops.bodies[1] as { summary: string }).summary, /^blocked for dave: /);
      assert.doesNotMatch(JSON.stringify([...ops.bodies, ...chat.bodies]), /pw-not-shown/);
      assert.equal(chat.bodies.length, 2);
    } finally {
      await ops.close();
      await chat.close();
    }
  });

  it('the optional e-mail channel sends one message over SMTP, with the secret masked', async () => {
    const smtp = await startSmtpReceiver();
    const dir = makeProject({ 'prodguard.yaml': stringify({
      version: 1,
      project: { name: 'acme' },
      environments: { production: { kind: 'production', urlEnv: 'NOTIFY_PROD_URL' } },
      notifications: { email: { host: '127.0.0.1', port: smtp.port, from: 'prodguard@acme.example', to: ['oncall@acme.example'] }, retryDelay: '20ms' },
    }) });
    try {
      const loaded = loadConfig({ cwd: dir.dir });
      const out = await sendNotification(loaded, { event: 'break-glass.opened', project: 'acme', environment: 'production', summary: 'alice opened break-glass (postgresql://u:topsecret@db/app)', at: new Date().toISOString() }, { env: {} });
      assert.deepEqual(out.map((o) => [o.webhook, o.ok]), [['email', true]], JSON.stringify(out));
      assert.equal(smtp.messages.length, 1);
      const m = smtp.messages[0];
      assert.match(m.to.join(), /oncall@acme\.example/);
      assert.match(m.data, /Subject: \[ALERT\] prodguard acme: break-glass opened \(production\)/);
      assert.match(m.data, /alice opened break-glass/);
      assert.doesNotMatch(m.data, /topsecret/);
    } finally {
      dir.cleanup();
      await smtp.close();
    }
  });

  it('a receiver that never comes back leaves a visible failure record: notify test exits 1 and status fails rule 6', async () => {
    const chat = await flakyReceiver(0);
    const env = { OPS_HOOK: await deadUrl(), CHAT_HOOK: chat.url };
    try {
      const r = await runCli(['notify', 'test'], { cwd: project.dir, env });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /ops: FAILED after 4 attempt\(s\): .*ECONNREFUSED/);
      assert.match(r.stdout, /chat: delivered/);
      assert.match(r.stderr, /1 of 2 channel\(s\) failed/);
      assert.equal(chat.bodies.length, 1);
      const ctx = openContext({ cwd: project.dir });
      try {
        const [f] = await listNotifyFailures(await ctx.store());
        assert.equal(f.channel, 'ops');
        assert.equal(f.event, 'notify.test');
        assert.equal(f.attempts, 4);
      } finally {
        await ctx.close();
      }
      const st = await runCli(['status', '--json'], { cwd: project.dir, env });
      assert.match(st.stdout, /emergency\.notifications/);
      const parsed = JSON.stringify(JSON.parse(st.stdout));
      assert.match(parsed, /1 notification\(s\) failed in the last 7 days; latest: notify.test to ops/);
    } finally {
      await chat.close();
    }
  });
});
