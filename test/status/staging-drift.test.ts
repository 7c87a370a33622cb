/**
 * Issue #20, status rule 3 on plain PostgreSQL: staging's schema against production's, both read
 * from the databases. An added column or a dropped index in staging is drift; staging ahead of
 * production by a migration that passed there and awaits deploy is not.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedCluster, createDatabase, sql } from '../helpers/pg.js';
import { makeProject, minimalConfig, runCli } from '../helpers/cli.js';
import { openContext } from '../../src/context.js';
import { checks } from '../../src/status/checks/migrate.js';

const cluster = sharedCluster({ name: 'prodguard-test-staging-drift' });
const SCHEMA = 'create table items (id bigint primary key, name text not null, created_at timestamptz not null default now());\ncreate index items_created_at_idx on items (created_at);\n';
const project = makeProject({ 'migrations/0001_items.sql': SCHEMA });
after(() => project.cleanup());
let env: Record<string, string> = {};

async function rule3() {
  const ctx = openContext({ cwd: project.dir });
  try {
    return await checks.find((c) => c.id === 'migrate.staging')!.run(ctx);
  } finally {
    await ctx.close();
  }
}

test('staging drift against production is read from both databases', async () => {
  const c = cluster();
  env = { PRODUCTION_DATABASE_URL: await createDatabase(c, 'drift_prod'), STAGING_DATABASE_URL: await createDatabase(c, 'drift_staging') };
  Object.assign(process.env, env);
  writeFileSync(join(project.dir, 'prodguard.yaml'), minimalConfig("staging:\n  masking: [{ table: items, column: name, strategy: keep, reason: 'product names' }]\n").replace('project:\n  name: acme', 'project:\n  name: acme\n  migrationsDir: migrations'));
  // Both get the first migration the way they would: staging through migrate apply, production as the deploy's runner.
  const st = await runCli(['migrate', 'apply', '--env', 'staging', '--json'], { cwd: project.dir, env });
  assert.equal(st.code, 0, st.stderr);
  const { loadConfig } = await import('../../src/config/load.js');
  const { readMigrations } = await import('../../src/migrate/files.js');
  const { historyTarget } = await import('../../src/migrate/history.js');
  const { applyMigrations } = await import('../../src/migrate/apply.js');
  const loaded = loadConfig({ cwd: project.dir });
  await applyMigrations(loaded, env.PRODUCTION_DATABASE_URL, readMigrations(loaded).files, { actor: 'ci', changeHash: 'drift', history: historyTarget(loaded) });

  const same = await rule3();
  // Never refreshed: missing for that alone (masking coverage is fine); the schema comparison is what is asserted.
  assert.equal(same.state, 'missing', same.reason);
  assert.match(same.reason, /staging: .*schema matches production's \(read from both databases\)/, same.reason);

  await sql(env.STAGING_DATABASE_URL, 'alter table items add column price numeric');
  const added = await rule3();
  assert.equal(added.state, 'failing', added.reason);
  assert.match(added.reason, /schema DRIFT against production .*column public\.items\.price: in staging, not in production/);
  await sql(env.STAGING_DATABASE_URL, 'alter table items drop column price; drop index items_created_at_idx');
  const dropped = await rule3();
  assert.equal(dropped.state, 'failing', dropped.reason);
  assert.match(dropped.reason, /items_created_at_idx: in production, missing in staging/);
  await sql(env.STAGING_DATABASE_URL, 'create index items_created_at_idx on items (created_at)');

  // A migration passed on staging, not yet deployed: the difference is expected, not drift.
  writeFileSync(join(project.dir, 'migrations/0002_price.sql'), 'alter table items add column price numeric;\n');
  const st2 = await runCli(['migrate', 'apply', '--env', 'staging', '--json'], { cwd: project.dir, env });
  assert.equal(st2.code, 0, st2.stderr);
  const ahead = await rule3();
  assert.equal(ahead.state, 'missing', ahead.reason);
  assert.doesNotMatch(ahead.reason, /DRIFT/);
  assert.match(ahead.reason, /schema differs from production's in 1 object\(s\), ahead by 1 migration\(s\) awaiting deploy \(0002_price\.sql\)/);
});
