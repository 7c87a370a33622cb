/** The dashboard's Changes page shows a real requested change, its author and who approved it. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCluster, type Cluster } from '../../src/pg/cluster.js';
import { migrateFixture, type MigrateFixture } from '../migrate/fixture.js';
import { applyToStaging } from '../../src/migrate/staging-apply.js';
import { applyMigrations } from '../../src/migrate/apply.js';
import { readMigrations } from '../../src/migrate/files.js';
import { historyTarget } from '../../src/migrate/history.js';
import { requestChange } from '../../src/migrate/request.js';
import { approveChange } from '../../src/migrate/approve.js';
import { startServe, type ServeHandle } from '../../src/server/serve.js';

const TOKEN = 'changes-page-token-0123456789';
let cluster: Cluster;
let fx: MigrateFixture;
let serve: ServeHandle;
let hash: string;

before(async () => {
  cluster = await createCluster({ name: 'prodguard-test-changes-page' });
  fx = await migrateFixture(cluster, 'dash');
  const ctx = fx.ctx();
  await applyToStaging(ctx, 'staging');
  await applyMigrations(ctx.loaded, fx.prodUrl, readMigrations(ctx.loaded).files, { actor: 'setup', changeHash: 'setup', history: historyTarget(ctx.loaded) });
  fx.writeMigration('0002_add_sku.sql', 'ALTER TABLE items ADD COLUMN sku text;\n');
  await applyToStaging(ctx, 'staging');
  process.env.PRODGUARD_ACTOR = 'alice';
  try {
    hash = (await requestChange(ctx, 'production', { keyFile: fx.keyFile('alice') })).change.hash;
  } finally {
    delete process.env.PRODGUARD_ACTOR;
  }
  serve = await startServe(ctx, { port: 0, env: { PRODGUARD_DASHBOARD_TOKEN: TOKEN }, noScheduler: true, log: () => {} });
});

after(async () => {
  await serve?.stop();
  await fx?.cleanup();
  await cluster?.destroy();
});

async function changesHtml(): Promise<string> {
  const login = await fetch(serve.url + '/login', { method: 'POST', body: new URLSearchParams({ token: TOKEN }), redirect: 'manual' });
  const cookie = login.headers.get('set-cookie')!.split(';')[0];
  const res = await fetch(serve.url + '/changes', { headers: { cookie } });
  assert.equal(res.status, 200);
  return res.text();
}

function rowOf(html: string): string {
  const row = html.split('<tr>').find((r) => r.includes(hash.slice(0, 12)));
  assert.ok(row, 'the requested change is listed');
  return row;
}

test('a requested change is pending until two seniors approved it, and the page names them', async () => {
  let row = rowOf(await changesHtml());
  assert.match(row, /alice/);
  assert.match(row, /0002_add_sku\.sql/);
  assert.match(row, /none yet/);
  assert.match(row, />pending</);
  await approveChange(fx.ctx(), hash.slice(0, 12), { keyFile: fx.keyFile('bob') });
  row = rowOf(await changesHtml());
  assert.match(row, /bob/);
  assert.match(row, />pending</);
  await approveChange(fx.ctx(), hash.slice(0, 12), { keyFile: fx.keyFile('carol') });
  row = rowOf(await changesHtml());
  assert.match(row, /bob, carol/);
  assert.match(row, />approved</);
});
