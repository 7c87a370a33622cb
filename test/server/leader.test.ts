/**
 * Two real `prodguard serve` processes, one real PostgreSQL for the election, one shared state
 * store: exactly one runs the schedule; SIGKILL the leader and the other takes over.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeProject, minimalConfig } from '../helpers/cli.js';
import { createCluster, type Cluster } from '../../src/pg/cluster.js';
import { openContext } from '../../src/context.js';
import { listJobRuns } from '../../src/server/run-job.js';
import { LeaderElection } from '../../src/server/leader.js';
import { startServeProcess, type ServeProcess } from './serve-process.js';

let cluster: Cluster;
let project: { dir: string; cleanup(): void };
const procs: ServeProcess[] = [];

before(async () => {
  cluster = await createCluster({ name: 'prodguard-test-leader' });
  project = makeProject({
    'prodguard.yaml': minimalConfig(`backup:
  destinations:
    - name: disk
      type: local
      path: backups
schedules:
  prune: "*/2 * * * * *"
  timezone: UTC
server:
  leader:
    urlEnv: LEADER_DATABASE_URL
    pollInterval: 1s
`),
  });
});

after(async () => {
  for (const p of procs) await p.stop('SIGKILL');
  project?.cleanup();
  await cluster?.destroy();
});

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function pruneRuns() {
  const ctx = openContext({ cwd: project.dir });
  try {
    return (await listJobRuns(ctx, { job: 'prune', limit: 10_000 })).filter((r) => r.result !== 'running');
  } finally {
    await ctx.close();
  }
}

test('only one of two lock holders is leader, and a stopped leader hands over', async () => {
  const url = cluster.url();
  const a = new LeaderElection({ url, lockName: 'unit', pollMs: 100_000 });
  const b = new LeaderElection({ url, lockName: 'unit', pollMs: 100_000 });
  await a.start();
  await b.start();
  assert.equal(a.isLeader(), true);
  assert.equal(b.isLeader(), false);
  await a.stop();
  await b.attempt();
  assert.equal(b.isLeader(), true);
  await b.stop();
});

test('two serve processes on one store run each slot once; killing the leader hands over', async () => {
  const env = { LEADER_DATABASE_URL: cluster.url(), PRODGUARD_DASHBOARD_TOKEN: 'leader-test-token-0123456789' };
  const first = await startServeProcess(project.dir, env);
  procs.push(first);
  await waitFor('the first server to lead', () => /became the leader/.test(first.log()));
  const second = await startServeProcess(project.dir, env);
  procs.push(second);
  await waitFor('three runs by the leader', async () => (await pruneRuns()).length >= 3);
  assert.doesNotMatch(second.log(), /became the leader/);
  const before = await pruneRuns();
  assert.ok(before.every((r) => r.runner.pid === first.child.pid), 'only the leader runs jobs');

  const killedAt = Date.now();
  await first.stop('SIGKILL');
  await waitFor('the second server to take over', () => /became the leader/.test(second.log()));
  const handoverMs = Date.now() - killedAt;
  process.stdout.write(`# leader handover after SIGKILL: ${handoverMs} ms\n`);
  await waitFor('runs by the new leader', async () => (await pruneRuns()).filter((r) => r.runner.pid === second.child.pid).length >= 2);
  await second.stop();

  const all = await pruneRuns();
  const slots = all.map((r) => r.slot);
  assert.equal(new Set(slots).size, slots.length, `a slot ran twice: ${slots.sort().join(' ')}`);
  // A slot may be skipped when the previous run is still going on a loaded machine (no overlap); none fails.
  assert.ok(all.every((r) => r.result === 'ok' || r.result === 'skipped'), all.map((r) => r.summary).join('; '));
  assert.deepEqual(new Set(all.map((r) => r.runner.pid)), new Set([first.child.pid, second.child.pid]));
});
