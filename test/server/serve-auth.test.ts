import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { makeProject, minimalConfig, runCli } from '../helpers/cli.js';
import { openContext } from '../../src/context.js';
import { startServe } from '../../src/server/serve.js';
import { hashPassword } from '../../src/server/http/auth.js';
import { LOGIN_FAILURES_ALLOWED } from '../../src/server/http/app.js';

test('serve refuses a non-loopback address without a login configured', async () => {
  const p = makeProject({ 'prodguard.yaml': minimalConfig() });
  try {
    const r = await runCli(['serve', '--host', '0.0.0.0', '--port', '0'], { cwd: p.dir, env: { PRODGUARD_DASHBOARD_TOKEN: undefined } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /refusing to serve on 0\.0\.0\.0 without a login: set \$PRODGUARD_DASHBOARD_TOKEN or add server.auth.users/);
  } finally {
    p.cleanup();
  }
});

test('without a token variable serve makes one, writes it 0600 and never prints it', async () => {
  const p = makeProject({ 'prodguard.yaml': minimalConfig() });
  const ctx = openContext({ cwd: p.dir });
  const lines: string[] = [];
  const h = await startServe(ctx, { port: 0, env: {}, noScheduler: true, log: (l) => lines.push(l) });
  try {
    assert.ok(h.tokenFile);
    assert.equal(statSync(h.tokenFile).mode & 0o777, 0o600);
    const token = readFileSync(h.tokenFile, 'utf8').trim();
    assert.ok(token.length >= 24);
    assert.ok(!lines.join('\n').includes(token));
    assert.equal((await fetch(h.url + '/metrics', { headers: { authorization: `Bearer ${token}` } })).status, 200);
    assert.equal((await fetch(h.url + '/metrics', { headers: { authorization: 'Bearer nope' } })).status, 401);
    const page = await fetch(h.url + '/backups', { redirect: 'manual' });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), '/login');
  } finally {
    await h.stop();
    await ctx.close();
    p.cleanup();
  }
});

test('a person signs in with their own password; a wrong one is refused and audited', async () => {
  const hash = hashPassword('correct horse battery');
  const p = makeProject({ 'prodguard.yaml': minimalConfig(`server:\n  auth:\n    users:\n      - name: alice\n        passwordHash: "${hash}"\n`) });
  const ctx = openContext({ cwd: p.dir });
  const h = await startServe(ctx, { port: 0, env: { PRODGUARD_DASHBOARD_TOKEN: 'a-long-enough-token-1234' }, noScheduler: true, log: () => {} });
  try {
    const post = (name: string, password: string) => fetch(h.url + '/login', { method: 'POST', body: new URLSearchParams({ name, password }), redirect: 'manual' });
    assert.equal((await post('alice', 'wrong password!')).status, 401);
    const ok = await post('alice', 'correct horse battery');
    assert.equal(ok.status, 303);
    const cookie = ok.headers.get('set-cookie')!.split(';')[0];
    const home = await fetch(h.url + '/jobs', { headers: { cookie } });
    assert.equal(home.status, 200);
    assert.match(await home.text(), /signed in as alice/);
    const forged = cookie.replace(/\.[^.]+$/, '.AAAA');
    assert.equal((await fetch(h.url + '/jobs', { headers: { cookie: forged }, redirect: 'manual' })).status, 303);
    const cross = await fetch(h.url + '/login', { method: 'POST', body: new URLSearchParams({ name: 'alice', password: 'correct horse battery' }), headers: { origin: 'http://evil.example' }, redirect: 'manual' });
    assert.equal(cross.status, 403);
    const audit = ctx.auditLog.read().filter((r) => r.action === 'serve.login');
    assert.deepEqual(audit.map((r) => r.verdict), ['refused', 'ok']);
    assert.ok(!JSON.stringify(audit).includes('correct horse'));
  } finally {
    await h.stop();
    await ctx.close();
    p.cleanup();
  }
});

test('hash-password reads stdin and prints a hash config check accepts', async () => {
  const r = await runCli(['serve', '--hash-password'], { input: 'a fine long password\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.trim(), /^scrypt\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
  assert.equal((await runCli(['serve', '--hash-password'], { input: 'short\n' })).code, 2);
});

test('after ten failed sign-ins from one address even the right password is refused for a while', async () => {
  const hash = hashPassword('correct horse battery');
  const p = makeProject({ 'prodguard.yaml': minimalConfig(`server:\n  auth:\n    users:\n      - name: bob\n        passwordHash: "${hash}"\n`) });
  const ctx = openContext({ cwd: p.dir });
  const h = await startServe(ctx, { port: 0, env: { PRODGUARD_DASHBOARD_TOKEN: 'a-long-enough-token-1234' }, noScheduler: true, log: () => {} });
  try {
    const post = (password: string) => fetch(h.url + '/login', { method: 'POST', body: new URLSearchParams({ name: 'bob', password }), redirect: 'manual' });
    for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i++) assert.equal((await post(`guess ${i}`)).status, 401);
    const blocked = await post('correct horse battery');
    assert.equal(blocked.status, 429);
    assert.match(await blocked.text(), /Too many failed sign-ins/);
  } finally {
    await h.stop();
    await ctx.close();
    p.cleanup();
  }
});

test('a second serve on the same store without leader election refuses to run the schedule; a stale lock is taken over', async () => {
  const p = makeProject({ 'prodguard.yaml': minimalConfig() });
  const ctx = openContext({ cwd: p.dir });
  const env = { PRODGUARD_DASHBOARD_TOKEN: 'a-long-enough-token-1234' };
  const first = await startServe(ctx, { port: 0, env, jobs: [], log: () => {} });
  try {
    await assert.rejects(startServe(ctx, { port: 0, env, jobs: [], log: () => {} }), /another prodguard serve \(pid \d+ on .*\) already runs the schedule/);
    const dashboardOnly = await startServe(ctx, { port: 0, env, noScheduler: true, log: () => {} });
    await dashboardOnly.stop();
  } finally {
    await first.stop();
  }
  // A lock left by a process that no longer exists does not block.
  writeFileSync(join(p.dir, '.prodguard', 'serve.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname() }));
  const again = await startServe(ctx, { port: 0, env, jobs: [], log: () => {} });
  await again.stop();
  await ctx.close();
  p.cleanup();
});
