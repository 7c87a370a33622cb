import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeProject, minimalConfig } from '../helpers/cli.js';
import { sharedCluster, sql } from '../helpers/pg.js';
import { recoveryChapter } from '../../src/demo/chapters/recovery.js';
import { standInDemo } from '../helpers/demo.js';

const production = sharedCluster({ name: 'prodguard-demo-prod' });

test('the recovery demo chapter brings back every row from before the disaster', async (t) => {
  const p = makeProject({ 'prodguard.yaml': minimalConfig() });
  t.after(p.cleanup);
  const env = { PRODUCTION_DATABASE_URL: production().url() };
  process.env.PRODUCTION_DATABASE_URL = env.PRODUCTION_DATABASE_URL;
  const { demo, lines, cleanups, ctx } = standInDemo({ projectDir: p.dir, production: production(), env });
  try {
    await recoveryChapter.run(demo);
  } finally {
    for (const fn of cleanups.reverse()) await fn();
    await ctx().close();
  }
  const story = lines.join('\n');
  assert.match(story, /recovery stopping before commit/);
  // The restore goes to a NEW cluster; only the missing rows are copied back into production.
  assert.match(story, /pitr restore --env production .* # into a NEW cluster, never over production/);
  assert.match(story, /the new cluster has 2000 orders/);
  assert.match(story, /2000 orders copied back; production has 2000 orders again \(2000 before the DELETE\)/);
  assert.match(story, /measured: from the DELETE to the last row back [\d.]+ (s|min) .*orders lost: none/);
  assert.equal((await sql<{ n: number }>(production().url(), 'SELECT count(*)::int AS n FROM orders'))[0].n, 2000, 'every order is back in production');
});
