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
  assert.match(story, /before the disaster: 300 customers \/ 2000 orders; restored cluster: 300 \/ 2000; production now: table missing \/ 0/);
  assert.equal((await sql(production().url(), `SELECT to_regclass('customers') AS t`))[0].t, null, 'production keeps its disaster; recovery went to a new cluster');
});
