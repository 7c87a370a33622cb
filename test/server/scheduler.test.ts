import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeProject, minimalConfig, runCli } from '../helpers/cli.js';
import { openContext, type Context } from '../../src/context.js';
import { Scheduler } from '../../src/server/scheduler.js';
import { ManualClock } from '../../src/server/clock.js';
import { backupJob, pruneJob } from '../../src/server/jobs.js';
import { listJobRuns, currentRunner } from '../../src/server/run-job.js';
import type { JobSpec } from '../../src/server/job-types.js';
import { startReceiver } from './receiver.js';

const BACKUP_SECTION = `backup:
  encryption:
    noEncrypt: true
  destinations:
    - name: here
      type: local
      path: backups
notifications:
  webhooks:
    - name: ops
      urlEnv: OPS_WEBHOOK_URL
`;

function project(): { ctx: Context; dir: string; cleanup(): Promise<void> } {
  const p = makeProject({ 'prodguard.yaml': minimalConfig(BACKUP_SECTION) });
  const ctx = openContext({ cwd: p.dir });
  return { ctx, dir: p.dir, cleanup: async () => { await ctx.close(); p.cleanup(); } };
}

const runner = currentRunner('serve');

test('a daily job missed for three days while no server ran is caught up once at start', async () => {
  const p = project();
  try {
    const clock = new ManualClock(new Date('2026-03-01T12:00:00Z'));
    const job = pruneJob('0 2 * * *');
    // The first server sees the job for the first time: nothing was missed, nothing runs.
    await new Scheduler(p.ctx, [job], { clock, runner, timezone: 'UTC' }).tick();
    assert.equal((await listJobRuns(p.ctx)).length, 0);
    // Down for three days; a new server starts at noon on 4 March.
    clock.set('2026-03-04T12:00:00Z');
    const s = new Scheduler(p.ctx, [job], { clock, runner, timezone: 'UTC' });
    await s.tick();
    await s.idle();
    await s.tick();
    await s.idle();
    const runs = await listJobRuns(p.ctx);
    assert.equal(runs.length, 1, 'three missed slots fold into one run');
    assert.equal(runs[0].result, 'ok', runs[0].summary);
    assert.equal(runs[0].catchUp, true);
    assert.equal(runs[0].missedSlots, 3);
    assert.equal(runs[0].slot, '2026-03-04T02:00:00.000Z');
    assert.match(runs[0].summary, /retention: kept 0, removed 0/);
    // The next regular slot runs normally, not as a catch-up.
    clock.set('2026-03-05T02:00:05Z');
    await s.tick();
    await s.idle();
    const [latest] = await listJobRuns(p.ctx);
    assert.equal(latest.slot, '2026-03-05T02:00:00.000Z');
    assert.equal(latest.catchUp, false);
    const audit = p.ctx.auditLog.read().filter((r) => r.action === 'serve.job');
    assert.equal(audit.length, 2);
    assert.equal(audit[0].verdict, 'ok');
  } finally {
    await p.cleanup();
  }
});

test('a job never overlaps with itself: a slot that comes while it still runs is recorded as skipped', async () => {
  const p = project();
  try {
    const clock = new ManualClock(new Date('2026-03-01T00:00:30Z'));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = 0;
    const slow: JobSpec = { id: 'slow', kind: 'test', cron: '* * * * *', run: async () => { started++; await gate; return 'done'; } };
    const s = new Scheduler(p.ctx, [slow], { clock, runner, timezone: 'UTC' });
    await s.tick();
    clock.set('2026-03-01T00:01:00Z');
    await s.tick();
    assert.equal(s.isRunning('slow'), true);
    clock.set('2026-03-01T00:02:00Z');
    await s.tick();
    clock.set('2026-03-01T00:03:00Z');
    await s.tick();
    assert.equal(started, 1, 'the second and third slots must not start a second copy');
    release();
    await s.idle();
    const runs = await listJobRuns(p.ctx);
    assert.deepEqual(runs.map((r) => r.result).sort(), ['ok', 'skipped', 'skipped']);
    assert.match(runs.find((r) => r.result === 'skipped')!.summary, /previous run of slow is still running/);
  } finally {
    await p.cleanup();
  }
});

test('a failed scheduled backup is recorded, audited and POSTed to the webhook', async () => {
  const receiver = await startReceiver();
  const p = project();
  const saved = { url: process.env.OPS_WEBHOOK_URL, db: process.env.PRODUCTION_DATABASE_URL };
  // Nothing listens on port 1: the real backup code fails to connect.
  process.env.OPS_WEBHOOK_URL = receiver.url;
  process.env.PRODUCTION_DATABASE_URL = 'postgresql://postgres:s3cret-pw@127.0.0.1:1/app';
  try {
    const clock = new ManualClock(new Date('2026-03-01T01:59:00Z'));
    const s = new Scheduler(p.ctx, [backupJob('production', '0 2 * * *')], { clock, runner, timezone: 'UTC' });
    await s.tick();
    clock.set('2026-03-01T02:00:01Z');
    await s.tick();
    await s.idle();
    const [run] = await listJobRuns(p.ctx);
    assert.equal(run.result, 'failed');
    assert.match(run.summary, /ECONNREFUSED|connect/i, run.summary);
    assert.ok(run.finishedAt && run.durationMs !== null);
    assert.doesNotMatch(JSON.stringify(run), /s3cret-pw/);
    assert.deepEqual(run.notified, [{ webhook: 'ops', ok: true }]);
    assert.equal(receiver.bodies.length, 1);
    const body = receiver.bodies[0] as Record<string, unknown>;
    assert.equal(body.event, 'job.failed');
    assert.equal(body.job, 'backup:production');
    assert.equal(body.environment, 'production');
    assert.equal(body.runId, run.id);
    assert.doesNotMatch(JSON.stringify(body), /s3cret-pw/);
    const audit = p.ctx.auditLog.read().filter((r) => r.action === 'serve.job');
    assert.equal(audit.at(-1)!.verdict, 'failed');
  } finally {
    process.env.OPS_WEBHOOK_URL = saved.url;
    if (saved.db === undefined) delete process.env.PRODUCTION_DATABASE_URL;
    else process.env.PRODUCTION_DATABASE_URL = saved.db;
    await p.cleanup();
    await receiver.close();
  }
});

test('schedules are read in the configured time zone', async () => {
  const p = project();
  try {
    const s = new Scheduler(p.ctx, [pruneJob('0 2 * * *')], { runner, timezone: 'Asia/Tokyo' });
    assert.equal(s.nextSlot('prune', new Date('2026-03-01T00:00:00Z'))!.toISOString(), '2026-03-01T17:00:00.000Z');
  } finally {
    await p.cleanup();
  }
});

test('config check reports an invalid cron expression and an unknown time zone with their lines', async () => {
  const p = makeProject({ 'prodguard.yaml': minimalConfig(`schedules:\n  backup: "0 25 * * *"\n  timezone: Mars/Olympus\n`) });
  try {
    const r = await runCli(['config', 'check'], { cwd: p.dir });
    assert.equal(r.code, 2);
    const file = join(p.dir, 'prodguard.yaml');
    assert.match(r.stdout, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:15:\\d+: schedules\\.backup: not a valid cron expression "0 25 \\* \\* \\*"`));
    assert.match(r.stdout, /:16:\d+: schedules\.timezone: unknown time zone "Mars\/Olympus"/);
  } finally {
    p.cleanup();
  }
});
