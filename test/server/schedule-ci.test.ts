import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { makeProject, minimalConfig, runCli } from '../helpers/cli.js';
import { openContext } from '../../src/context.js';
import { checks } from '../../src/status/checks/server.js';
import { runJob, currentRunner } from '../../src/server/run-job.js';
import { pruneJob } from '../../src/server/jobs.js';

const check = checks.find((c) => c.id === 'server.schedule-runs')!;

test('jobs workflow --github writes a scheduled workflow that runs backup and verify with the job code', async () => {
  const p = makeProject({ 'prodguard.yaml': minimalConfig(`schedules:\n  backup: "15 1 * * *"\n  verify: "45 1 * * *"\n`) });
  try {
    const r = await runCli(['jobs', 'workflow', '--github'], { cwd: p.dir });
    assert.equal(r.code, 0, r.stderr);
    const wf = parse(readFileSync(join(p.dir, '.github/workflows/prodguard-schedule.yml'), 'utf8'));
    assert.deepEqual(wf.on.schedule, [{ cron: '15 1 * * *' }, { cron: '45 1 * * *' }]);
    const runs = wf.jobs.backup.steps.map((s: { run?: string }) => s.run).filter(Boolean).join('\n');
    assert.match(runs, /npx prodguard backup sync-catalog/);
    assert.match(runs, /npx prodguard jobs run backup:production/);
    assert.match(runs, /npx prodguard jobs run verify:production/);
    assert.equal(wf.jobs.backup.env.PRODUCTION_DATABASE_URL, '${{ secrets.PRODUCTION_DATABASE_URL }}');
    assert.equal((await runCli(['jobs', 'workflow', '--github'], { cwd: p.dir })).code, 2, 'never overwrites without --force');
  } finally {
    p.cleanup();
  }
});

test('init ci --github writes the same scheduled workflow (the documented entry point), and --force after ci overwrites', async () => {
  const p = makeProject({ 'prodguard.yaml': minimalConfig(`schedules:\n  backup: "10 2 * * *"\n  verify: "40 2 * * *"\n`) });
  try {
    const file = join(p.dir, '.github/workflows/prodguard-schedule.yml');
    const r = await runCli(['init', 'ci', '--github', '--json'], { cwd: p.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).file, file);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^# Written by `prodguard init ci --github`/);
    const wf = parse(text);
    assert.deepEqual(wf.on.schedule, [{ cron: '10 2 * * *' }, { cron: '40 2 * * *' }]);
    const runs = wf.jobs.backup.steps.map((s: { run?: string }) => s.run).filter(Boolean).join('\n');
    assert.match(runs, /npx prodguard jobs run backup:production/);
    assert.match(runs, /npx prodguard jobs run verify:production/);
    // Same generator as `jobs workflow --github`: the second writes byte-identical text.
    const again = await runCli(['jobs', 'workflow', '--github', '--force'], { cwd: p.dir });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(readFileSync(file, 'utf8'), text);
    const exists = await runCli(['init', 'ci', '--github'], { cwd: p.dir });
    assert.equal(exists.code, 2);
    assert.match(exists.stderr, /already exists; use --force/);
    assert.equal((await runCli(['init', 'ci', '--github', '--force'], { cwd: p.dir })).code, 0);
    const noCi = await runCli(['init', 'ci'], { cwd: p.dir });
    assert.equal(noCi.code, 2);
    assert.match(noCi.stderr, /--github/);
    const help = await runCli(['init', 'ci', '--help'], { cwd: p.dir });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: prodguard init ci/);
    // Recorded in the audit log like every write.
    const audit = await runCli(['audit', 'tail', '--json'], { cwd: p.dir });
    assert.match(audit.stdout, /prodguard init ci --github --force/);
  } finally {
    p.cleanup();
  }
});

test('jobs workflow refuses a time zone GitHub cannot honour', async () => {
  const p = makeProject({ 'prodguard.yaml': minimalConfig(`schedules:\n  timezone: Europe/Berlin\n`) });
  try {
    const r = await runCli(['jobs', 'workflow', '--github'], { cwd: p.dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /GitHub Actions schedules run in UTC/);
  } finally {
    p.cleanup();
  }
});

test('status says who runs the schedule: missing before any run, failing when ci is expected but no workflow exists', async () => {
  const p = makeProject({ 'prodguard.yaml': minimalConfig(`server:\n  schedule: ci\n`) });
  const ctx = openContext({ cwd: p.dir });
  try {
    const res = await check.run(ctx);
    assert.equal(res.state, 'failing');
    assert.match(res.reason, /server.schedule is ci but .github\/workflows\/prodguard-schedule.yml is missing/);
  } finally {
    await ctx.close();
    p.cleanup();
  }
  const q = makeProject({ 'prodguard.yaml': minimalConfig() });
  const ctx2 = openContext({ cwd: q.dir });
  try {
    assert.equal((await check.run(ctx2)).state, 'missing');
    assert.match((await check.run(ctx2)).reason, /no scheduled backup has run yet; the schedule is meant to be run by `prodguard serve`/);
    // A non-backup job does not count as the backup schedule.
    await runJob(ctx2, pruneJob('0 5 * * *'), { slot: new Date(), runner: currentRunner('serve') });
    assert.equal((await check.run(ctx2)).state, 'missing');
  } finally {
    await ctx2.close();
    q.cleanup();
  }
});
