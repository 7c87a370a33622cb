/**
 * The dashboard in a real headless Chromium (Debian's chromium driven by playwright-core) against
 * a real `prodguard serve` process, a real cluster and a real backup made in the test. Each page
 * is screenshotted into test-artifacts/dashboard/ (kept by CI as an artifact).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
// eslint-disable-next-line @typescript-eslint/ban-ts-comment
// @ts-ignore -- no type declarations
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { makeProject, minimalConfig, runCli, REPO } from '../helpers/cli.js';
import { createDatabase, sql } from '../helpers/pg.js';
import { createCluster, type Cluster } from '../../src/pg/cluster.js';
import { generateKeyPair } from '../../src/backup/encryption.js';
import { startServeProcess, type ServeProcess } from './serve-process.js';
import { openContext } from '../../src/context.js';
import { createGrant, revokeGrant } from '../../src/grants/grants.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = join(REPO, 'test-artifacts', 'dashboard');
const TOKEN = 'dashboard-test-token-0123456789';

let cluster: Cluster | undefined;
let project: { dir: string; cleanup(): void };
let env: Record<string, string | undefined>;
let serve: ServeProcess;
let browser: BrowserContext;
let userData: string;
let backupId: string;

before(async () => {
  cluster = await createCluster({ name: 'prodguard-test-dashboard' });
  const dbUrl = await createDatabase(cluster, 'shop');
  await sql(dbUrl, `CREATE TABLE customers (id serial PRIMARY KEY, name text); INSERT INTO customers (name) SELECT 'c' || g FROM generate_series(1, 200) g;`);
  const keys = await generateKeyPair();
  project = makeProject({
    'prodguard.yaml': minimalConfig(`backup:
  encryption:
    recipients: [${keys.recipient}]
  destinations:
    - name: disk
      type: local
      path: backups
`),
  });
  // Outside a CI platform's job, `jobs run` records the runner as the CLI (the test checks that).
  env = { PRODUCTION_DATABASE_URL: dbUrl, PRODGUARD_AGE_IDENTITY: keys.identity, PRODGUARD_DASHBOARD_TOKEN: TOKEN, GITHUB_ACTIONS: undefined, GITLAB_CI: undefined };
  // A real backup and its verification, through the same job code the scheduler runs.
  const made = await runCli(['jobs', 'run', 'backup:production', '--json'], { cwd: project.dir, env });
  assert.equal(made.code, 0, made.stderr);
  backupId = /backup (\S+):/.exec(JSON.parse(made.stdout).summary)![1];
  const verified = await runCli(['jobs', 'run', 'verify:production'], { cwd: project.dir, env });
  assert.equal(verified.code, 0, verified.stderr);
  const drilled = await runCli(['jobs', 'run', 'drill:production'], { cwd: project.dir, env });
  assert.equal(drilled.code, 0, drilled.stdout + drilled.stderr);
  // Something for the guard page and the audit filter: a refused command against production.
  const denied = await runCli(['check', `psql "$PRODUCTION_DATABASE_URL" -c 'drop table customers'`], { cwd: project.dir, env });
  assert.equal(denied.code, 1, denied.stdout + denied.stderr);
  serve = await startServeProcess(project.dir, env);
  mkdirSync(ARTIFACTS, { recursive: true });
  userData = mkdtempSync(join(tmpdir(), 'prodguard-chromium-'));
  browser = await chromium.launchPersistentContext(userData, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 } });
});

after(async () => {
  await browser?.close();
  if (userData) rmSync(userData, { recursive: true, force: true });
  await serve?.stop();
  project?.cleanup();
  await cluster?.destroy();
});

async function shot(page: Page, name: string): Promise<void> {
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  assert.ok(statSync(file).size > 10_000, `${name}.png looks empty`);
  const text = await page.locator('body').innerText();
  assert.doesNotMatch(text, /could not be built|internal error|Traceback|\[object Object\]|undefined/i, `${name} shows an error`);
  assert.doesNotMatch(text, /^\s*[{[]"/m, `${name} dumps raw JSON`);
}

async function login(page: Page): Promise<void> {
  await page.goto(serve.url + '/');
  assert.match(page.url(), /\/login$/);
  await page.fill('input[name=token]', 'wrong-token-wrong-token');
  await page.click('button[type=submit]');
  assert.match(await page.locator('[role=alert]').innerText(), /Wrong name, password or token/);
  await page.fill('input[name=token]', TOKEN);
  await page.click('button[type=submit]');
  await page.waitForURL(serve.url + '/');
}

test('signing in shows the scorecard of the six rules with a state and reason each', async () => {
  const page = await browser.newPage();
  await login(page);
  assert.equal(await page.locator('section.rule').count(), 6);
  for (let rule = 1; rule <= 6; rule++) {
    const s = page.locator(`section[data-rule="${rule}"]`);
    assert.match((await s.getAttribute('data-state'))!, /^(ok|missing|failing)$/);
    assert.ok((await s.locator('.reason').innerText()).length > 5);
  }
  const rule2 = await page.locator('section[data-rule="2"]').innerText();
  assert.match(rule2, new RegExp(`${backupId} verified by restore`));
  assert.match(rule2, /backups run on a schedule — schedule run by prodguard jobs run on /);
  await shot(page, 'scorecard');
  await page.close();
});

test('the backups page lists the backup made in the test, verified, with its size and trend charts', async () => {
  const page = await browser.newPage();
  await page.goto(serve.url + '/backups');
  const row = page.locator('tr', { hasText: backupId });
  assert.equal(await row.count(), 1);
  const text = await row.innerText();
  assert.match(text, /verified/);
  assert.match(text, /disk/);
  assert.match(text, /KiB|MiB/);
  assert.equal(await page.locator('svg.chart').count(), 2);
  await shot(page, 'backups');
  await page.close();
});

test('the audit log filters by verdict and shows the chain intact', async () => {
  const page = await browser.newPage();
  await page.goto(serve.url + '/audit');
  assert.equal(await page.locator('[data-chain=intact]').count(), 1);
  const before = await page.locator('tbody tr').count();
  await page.selectOption('select[name=verdict]', 'deny');
  await page.click('form.filters button');
  await page.waitForURL(/verdict=deny/);
  const verdicts = await page.locator('tbody tr td:nth-child(6)').allInnerTexts();
  assert.ok(verdicts.length >= 1 && verdicts.length < before, `${verdicts.length} of ${before}`);
  assert.ok(verdicts.every((v) => v.trim() === 'deny'));
  assert.match(await page.locator('tbody').innerText(), /drop table customers/);
  await shot(page, 'audit-filtered');
  await page.close();
});

test('every other page renders: drills, changes, guard blocks, job runs', async () => {
  const page = await browser.newPage();
  for (const [path, name, expect] of [
    ['/drills', 'drills', new RegExp(`production\\s+${backupId}[\\s\\S]*passed`)],
    ['/changes', 'changes', /No production changes requested/],
    ['/guard', 'guard', /drop table customers/],
    ['/jobs', 'jobs', /backup:production[\s\S]*ok/],
  ] as const) {
    await page.goto(serve.url + path);
    assert.match(await page.locator('main').innerText(), expect, path);
    await shot(page, name);
  }
  await page.close();
});

test('on a phone-width screen the scorecard fits without sideways scrolling', async () => {
  const page = await browser.newPage();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(serve.url + '/');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `page is ${overflow}px wider than the screen`);
  await shot(page, 'scorecard-phone');
  await page.close();
});

test('/metrics parses as Prometheus text and carries the backup, verify and audit chain state', async () => {
  assert.equal((await fetch(serve.url + '/metrics')).status, 401);
  assert.equal((await fetch(serve.url + '/healthz')).status, 200);
  assert.equal((await fetch(serve.url + '/readyz')).status, 200);
  const res = await fetch(serve.url + '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  const families = parsePrometheusTextFormat(await res.text()) as Array<{ name: string; metrics: Array<{ value: string; labels?: Record<string, string> }> }>;
  const value = (name: string, labels: Record<string, string> = {}) => {
    const f = families.find((x) => x.name === name);
    assert.ok(f, `${name} missing`);
    const m = f.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
    assert.ok(m, `${name}${JSON.stringify(labels)} missing`);
    return Number(m.value);
  };
  const backupTime = value('prodguard_last_backup_timestamp_seconds', { environment: 'production' });
  assert.ok(backupTime > Date.now() / 1000 - 3600 && backupTime <= Date.now() / 1000);
  assert.equal(value('prodguard_last_verified_backup_timestamp_seconds', { environment: 'production' }), backupTime);
  assert.equal(value('prodguard_backup_verify_ok', { environment: 'production' }), 1);
  assert.ok(value('prodguard_backup_size_bytes', { environment: 'production' }) > 1000);
  assert.equal(value('prodguard_audit_chain_ok'), 1);
  assert.ok(value('prodguard_guard_blocked_commands', { verdict: 'deny' }) >= 1);
  assert.equal(value('prodguard_job_last_run_ok', { job: 'backup:production' }), 1);
  assert.equal(value('prodguard_job_failures', { job: 'verify:production' }), 0);
  assert.equal(value('prodguard_scheduler_leader'), 1);
  assert.equal(value('prodguard_drill_ok', { environment: 'production' }), 1);
  assert.ok(value('prodguard_drill_rto_seconds', { environment: 'production' }) > 0);
});

test('the break-glass page, linked from the navigation, shows an open grant as active and then as expired once its time has passed; the metric follows', async () => {
  const metric = async () => {
    const res = await fetch(serve.url + '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    const families = parsePrometheusTextFormat(await res.text()) as Array<{ name: string; metrics: Array<{ value: string; labels?: Record<string, string> }> }>;
    const m = families.find((f) => f.name === 'prodguard_break_glass_active')?.metrics.find((x) => x.labels?.environment === 'production');
    assert.ok(m, 'prodguard_break_glass_active{environment="production"} missing');
    return Number(m.value);
  };
  assert.equal(await metric(), 0);
  // Grants written by the grants module itself, as break-glass does: one that expired an hour
  // ago, one ended early, and one that expires 15 s from now.
  const ctx = openContext({ cwd: project.dir });
  const grant = { env: 'production', kind: 'break-glass' as const, createdBy: 'test' };
  let past, ended, open;
  try {
    const store = await ctx.store();
    past = await createGrant(store, { ...grant, person: 'alice', reason: 'stuck invoice job', durationMs: 30 * 60_000, now: new Date(Date.now() - 3_600_000) });
    ended = await createGrant(store, { ...grant, person: 'carol', reason: 'reindex orders', durationMs: 30 * 60_000 });
    await revokeGrant(store, ended.id);
    open = await createGrant(store, { ...grant, person: 'bob', reason: 'hotfix the orders index', durationMs: 15_000 }); // long enough for a slow page load on a loaded CI host
  } finally {
    await ctx.close();
  }
  assert.equal(await metric(), 1);
  const page = await browser.newPage();
  await page.goto(serve.url + '/');
  await page.click('nav a[href="/grants"]');
  await page.waitForURL(serve.url + '/grants');
  const state = (id: string) => page.locator(`[data-grant="${id}"]`).getAttribute('data-state');
  const row = (id: string) => page.locator('tr', { has: page.locator(`[data-grant="${id}"]`) }).innerText();
  assert.equal(await state(open.id), 'active');
  assert.match(await row(open.id), /production\s+bob\s+break-glass\s+hotfix the orders index[\s\S]*expires in[\s\S]*active/);
  assert.match(await page.locator('.banner').innerText(), /Break-glass open: bob on production/);
  assert.equal(await state(past.id), 'expired');
  assert.match(await row(past.id), /alice[\s\S]*expired/);
  assert.equal(await state(ended.id), 'ended');
  assert.match(await row(ended.id), /carol[\s\S]*ended early/);
  await shot(page, 'grants');
  // Expiry is data: once the time passes the same grant reads as expired, with nothing having run.
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(open.expiresAt) - Date.now() + 200)));
  await page.reload();
  assert.equal(await state(open.id), 'expired');
  assert.equal(await page.locator('[data-open="0"]').count(), 1);
  assert.equal(await metric(), 0);
  await page.close();
});
