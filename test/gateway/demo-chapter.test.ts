import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { makeProject } from '../helpers/cli.js';
import { sharedCluster, createDatabase, sql } from '../helpers/pg.js';
import { accessChapter } from '../../src/demo/chapters/access.js';
import { DEMO_SCHEMA_SQL } from '../../src/demo/sql/schema.js';
import { DEMO_SEED_SQL } from '../../src/demo/sql/seed.js';
import { standInDemo } from '../helpers/demo.js';

const cluster = sharedCluster({ name: 'prodguard-test-access-demo' });
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('the access demo chapter: the agent reads through prodguard mcp, a DELETE through the gateway and a direct DROP TABLE are refused', async () => {
  const prodUrl = await createDatabase(cluster(), 'access_prod');
  await sql(prodUrl, DEMO_SCHEMA_SQL);
  await sql(prodUrl, DEMO_SEED_SQL);
  const p = makeProject({});
  cleanups.push(() => p.cleanup());
  writeFileSync(join(p.dir, 'prodguard.yaml'), stringify({
    version: 1,
    project: { name: 'qwikker' },
    environments: { production: { kind: 'production', urlEnv: 'ADEMO_PROD_URL' } },
    team: [{ name: 'alice', role: 'senior' }, { name: 'dev', role: 'developer' }],
  }));
  const env = { ADEMO_PROD_URL: prodUrl };
  Object.assign(process.env, env);
  const { demo, lines, cleanups: chapterCleanups, ctx } = standInDemo({ projectDir: p.dir, production: cluster(), env });
  cleanups.push(async () => {
    for (const fn of chapterCleanups.reverse()) await fn();
    await ctx().close();
  });
  await accessChapter.run(demo);
  const text = lines.join('\n');
  assert.match(text, /→ \{"businesses":300\}/);
  assert.match(text, /→ refused: destructive statement/);
  assert.match(text, /ERROR 25006: prodguard gateway: destructive statement refused for "dev"|ERROR 25006: prodguard gateway: write statement refused for "dev"/);
  assert.match(text, /ERROR 42501: prodguard lockdown: DROP TABLE refused/);
  assert.ok((await sql<{ n: number }>(prodUrl, 'SELECT count(*)::int AS n FROM orders'))[0].n > 0);
});
