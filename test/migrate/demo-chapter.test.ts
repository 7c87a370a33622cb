import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { makeProject } from '../helpers/cli.js';
import { sharedCluster, createDatabase, sql } from '../helpers/pg.js';
import { migrateChapter } from '../../src/demo/chapters/migrate.js';
import { DEMO_SCHEMA_SQL } from '../../src/demo/sql/schema.js';
import { DEMO_SEED_SQL } from '../../src/demo/sql/seed.js';
import { listBackups } from '../../src/backup/index.js';
import { standInDemo } from '../helpers/demo.js';

const cluster = sharedCluster({ name: 'prodguard-test-migrate-demo' });
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('the migrate demo chapter: staging first, self-approval refused, laptop deploy refused, CI deploy with a verified backup, verified', async () => {
  const prodUrl = await createDatabase(cluster(), 'qwikker_prod');
  const stagingUrl = await createDatabase(cluster(), 'qwikker_staging');
  for (const url of [prodUrl, stagingUrl]) {
    await sql(url, DEMO_SCHEMA_SQL);
    await sql(url, `CREATE SCHEMA supabase_migrations; CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, statements text[], name text);
      INSERT INTO supabase_migrations.schema_migrations VALUES ('20260101000000', ARRAY['init'], 'init')`);
  }
  await sql(prodUrl, DEMO_SEED_SQL);
  const p = makeProject({ 'supabase/migrations/20260101000000_init.sql': DEMO_SCHEMA_SQL.trim() + '\n' });
  cleanups.push(() => p.cleanup());
  writeFileSync(
    join(p.dir, 'prodguard.yaml'),
    stringify({
      version: 1,
      project: { name: 'qwikker', layout: 'supabase' },
      environments: { staging: { kind: 'staging', urlEnv: 'MDEMO_STAGING_URL' }, production: { kind: 'production', urlEnv: 'MDEMO_PROD_URL' } },
      team: [
        { name: 'alice', email: 'alice@qwikker.example', role: 'senior', publicKey: null },
        { name: 'bob', email: 'bob@qwikker.example', role: 'senior', publicKey: null },
        { name: 'dev', role: 'developer', publicKey: null },
      ],
      migrations: { healthChecks: [{ name: 'businesses readable', sql: 'SELECT count(*) FROM businesses', min: 1 }] },
      staging: { masking: [{ table: 'public.customers', column: 'email', strategy: 'email' }, { table: 'public.businesses', column: 'owner_email', strategy: 'email' },
        // Issue #20: a refresh refuses while detected personal data has no rule.
        { table: 'public.customers', column: 'phone', strategy: 'phone' }, { table: 'public.orders', column: 'legacy_note', strategy: 'scrub' }] },
    }),
  );
  mkdirSync(join(p.dir, '.prodguard'), { recursive: true });
  const env = { MDEMO_STAGING_URL: stagingUrl, MDEMO_PROD_URL: prodUrl };
  Object.assign(process.env, env);
  const { demo, lines, cleanups: chapterCleanups, ctx } = standInDemo({ projectDir: p.dir, production: cluster(), env });
  cleanups.push(async () => {
    for (const fn of chapterCleanups.reverse()) await fn();
    await ctx().close();
  });
  const ciBefore = process.env.CI;
  await migrateChapter.run(demo);
  const text = lines.join('\n');
  assert.match(text, /refused: self-approval: "alice" is the author of the change/);
  assert.match(text, /refused: .*\[ci\] not running in CI/);
  assert.match(text, /verified: production's schema equals staging's/);
  const hist = await sql<{ version: string; statements: string[] }>(prodUrl, 'SELECT version, statements FROM supabase_migrations.schema_migrations ORDER BY version');
  assert.deepEqual(hist.map((h) => h.version), ['20260101000000', '20260301000000']);
  assert.deepEqual(hist[1].statements, ['alter table orders add column if not exists courier_note text']);
  const backups = await listBackups(ctx());
  assert.equal(backups.length, 1);
  assert.equal(backups[0].verified?.ok, true);
  assert.match(text, /staging replaced from production backup/);
  const prodEmails = (await sql<{ email: string }>(prodUrl, 'SELECT email FROM customers')).map((r) => r.email);
  const stagingEmails = await sql<{ email: string }>(stagingUrl, 'SELECT email FROM customers');
  assert.equal(stagingEmails.length, prodEmails.length);
  assert.ok(stagingEmails.every((r) => /@example\.invalid$/.test(r.email) && !prodEmails.includes(r.email)));
  assert.ok(existsSync(join(p.dir, '.github/workflows/prodguard.yml')));
  assert.equal(process.env.CI, ciBefore, 'the chapter restores the environment');
});
