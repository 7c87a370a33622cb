/**
 * A real `prodguard serve` process started after downtime catches up the missed daily backup
 * once, with the real backup code against a real cluster, and stops cleanly on SIGTERM.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeProject, minimalConfig } from '../helpers/cli.js';
import { createDatabase, sql } from '../helpers/pg.js';
import { createCluster, type Cluster } from '../../src/pg/cluster.js';
import { openContext } from '../../src/context.js';
import { listJobRuns } from '../../src/server/run-job.js';
import { listBackups } from '../../src/backup/catalog.js';
import { startServeProcess } from './serve-process.js';

let cluster: Cluster;
let project: { dir: string; cleanup(): void };

before(async () => {
  cluster = await createCluster({ name: 'prodguard-test-catchup' });
  project = makeProject({
    'prodguard.yaml': minimalConfig(`backup:
  encryption:
    noEncrypt: true
  destinations:
    - name: disk
      type: local
      path: backups
schedules:
  backup: "0 3 * * *"
  timezone: UTC
`),
  });
});

after(async () => {
  project?.cleanup();
  await cluster?.destroy();
});

test('serve started after three days down runs the missed daily backup once, for real', async () => {
  const dbUrl = await createDatabase(cluster, 'app');
  await sql(dbUrl, 'CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100);');
  // The last server ran the backup slot of four days ago, then went down.
  const ctx = openContext({ cwd: project.dir });
  const fourDaysAgo = new Date(Date.now() - 4 * 86400_000);
  fourDaysAgo.setUTCHours(3, 0, 0, 0);
  await (await ctx.store()).setMeta('scheduler.last-slot.backup:production', fourDaysAgo.toISOString());
  await ctx.close();

  const serve = await startServeProcess(project.dir, { PRODUCTION_DATABASE_URL: dbUrl, PRODGUARD_DASHBOARD_TOKEN: 'catchup-test-token-0123456789' });
  const runs = async () => {
    const c = openContext({ cwd: project.dir });
    try {
      return await listJobRuns(c, { job: 'backup:production' });
    } finally {
      await c.close();
    }
  };
  const end = Date.now() + 90_000;
  while (!(await runs()).some((r) => r.result !== 'running')) {
    if (Date.now() > end) throw new Error(`no backup run:\n${serve.log()}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  // A few more ticks must not start another catch-up.
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(await serve.stop('SIGTERM'), 0, serve.log());

  const all = await runs();
  assert.equal(all.length, 1, 'caught up once, not once per missed day');
  assert.equal(all[0].result, 'ok', all[0].summary);
  assert.equal(all[0].catchUp, true);
  assert.ok(all[0].missedSlots >= 3, `missed ${all[0].missedSlots}`);
  assert.equal(all[0].runner.kind, 'serve');
  const c = openContext({ cwd: project.dir });
  try {
    const [m] = await listBackups(c, { env: 'production' });
    assert.ok(m, 'the catch-up made a real backup');
    assert.match(m.reason!, /^scheduled backup \(prodguard serve on /);
    assert.equal(m.rowCounts['public.t'], 100);
    const actions = c.auditLog.read().map((r) => r.action);
    assert.ok(actions.includes('backup.create') && actions.includes('serve.job') && actions.includes('serve.stop'));
  } finally {
    await c.close();
  }
});
