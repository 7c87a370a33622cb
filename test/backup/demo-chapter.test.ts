import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { makeProject } from '../helpers/cli.js';
import { createCluster } from '../../src/pg/cluster.js';
import { backupChapter } from '../../src/demo/chapters/backup.js';
import { listBackups } from '../../src/backup/index.js';
import { standInDemo } from '../helpers/demo.js';
import { SEED_SQL } from './fixture.js';
import { sql } from '../helpers/pg.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('the backup demo chapter backs production up to two places, verifies it by restore and shows the catalog', async () => {
  const production = await createCluster({ name: 'prodguard-test-demo' });
  cleanups.push(() => production.destroy());
  await sql(production.url(), SEED_SQL);
  const p = makeProject({
    'prodguard.yaml': `version: 1\nenvironments:\n  production:\n    kind: production\n    urlEnv: DEMO_PRODUCTION_URL\n`,
  });
  cleanups.push(() => p.cleanup());
  process.env.DEMO_PRODUCTION_URL = production.url();
  const { demo, lines, cleanups: chapterCleanups, ctx } = standInDemo({ projectDir: p.dir, production, env: { DEMO_PRODUCTION_URL: production.url() } });
  cleanups.push(async () => {
    for (const fn of chapterCleanups.reverse()) await fn();
  });
  await backupChapter.run(demo);
  const text = lines.join('\n');
  assert.match(text, /stored on local-disk and offsite-s3, age-encrypted/);
  assert.match(text, /row counts match the manifest/);
  const list = await listBackups(ctx());
  assert.equal(list.length, 1);
  assert.deepEqual(list[0].destinations, ['local-disk', 'offsite-s3']);
  assert.equal(list[0].verified?.ok, true);
  await ctx().close();
});
