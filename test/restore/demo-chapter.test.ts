import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { makeProject, minimalConfig } from '../helpers/cli.js';
import { sharedCluster, sql } from '../helpers/pg.js';
import { contextFrom, type Context } from '../../src/context.js';
import { loadConfig } from '../../src/config/load.js';
import { recoveryChapter } from '../../src/demo/chapters/recovery.js';
import type { DemoContext } from '../../src/demo/types.js';

const production = sharedCluster({ name: 'prodguard-demo-prod' });

test('the recovery demo chapter brings back every row from before the disaster', async (t) => {
  const p = makeProject({ 'prodguard.yaml': minimalConfig() });
  t.after(p.cleanup);
  const env = { PRODUCTION_DATABASE_URL: production().url() };
  process.env.PRODUCTION_DATABASE_URL = env.PRODUCTION_DATABASE_URL;
  const lines: string[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];
  let ctx: Context = contextFrom(loadConfig({ cwd: p.dir }));
  const demo: DemoContext = {
    projectDir: p.dir,
    get ctx() {
      return ctx;
    },
    production: production(),
    staging: production(),
    env,
    say: (l) => lines.push(l),
    showCommand: (c) => lines.push(`$ ${c}`),
    onCleanup: (fn) => cleanups.push(fn),
    keep: false,
    async updateConfig(mutate) {
      const file = join(p.dir, 'prodguard.yaml');
      const raw = parse(readFileSync(file, 'utf8'));
      mutate(raw);
      writeFileSync(file, stringify(raw));
      await ctx.close();
      ctx = contextFrom(loadConfig({ cwd: p.dir }));
    },
  } as DemoContext;
  try {
    await recoveryChapter.run(demo);
  } finally {
    for (const fn of cleanups.reverse()) await fn();
    await ctx.close();
  }
  const story = lines.join('\n');
  assert.match(story, /recovery stopping before commit/);
  assert.match(story, /before the disaster: 300 customers \/ 2000 orders; restored cluster: 300 \/ 2000; production now: table missing \/ 0/);
  assert.equal((await sql(production().url(), `SELECT to_regclass('customers') AS t`))[0].t, null, 'production keeps its disaster; recovery went to a new cluster');
});
