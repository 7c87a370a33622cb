/**
 * One contract, two stores: every behaviour the layers rely on is checked against SQLite and the
 * PostgreSQL team store alike.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sharedCluster, createDatabase } from '../helpers/pg.js';
import { makeProject } from '../helpers/cli.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { PostgresStore } from '../../src/store/postgres-store.js';
import type { StateStore } from '../../src/store/store.js';

const cluster = sharedCluster({ name: 'prodguard-test-store' });
const project = makeProject();
after(() => project.cleanup());
let n = 0;

const kinds: Array<[string, () => Promise<{ open: () => Promise<StateStore> }>]> = [
  ['sqlite', async () => {
    const file = join(project.dir, `s${n++}.db`);
    return { open: async () => new SqliteStore(file) };
  }],
  ['postgres', async () => {
    const url = await createDatabase(cluster(), `store_${n++}`);
    return { open: () => PostgresStore.open(url) };
  }],
];

for (const [kind, make] of kinds) {
  test(`${kind}: put/get round-trips, an update keeps createdAt, delete removes`, async () => {
    const { open } = await make();
    const s = await open();
    try {
      await s.put('things', 'a', { name: 'a', n: 1, nested: { x: [1, 2] } });
      assert.deepEqual(await s.get('things', 'a'), { name: 'a', n: 1, nested: { x: [1, 2] } });
      const first = (await s.list('things'))[0];
      await new Promise((r) => setTimeout(r, 5));
      await s.put('things', 'a', { name: 'a2', n: 2 });
      const again = (await s.list<{ name: string }>('things'))[0];
      assert.equal(again.doc.name, 'a2');
      assert.equal(again.createdAt, first.createdAt);
      assert.notEqual(again.updatedAt, first.updatedAt);
      assert.equal(await s.get('things', 'missing'), null);
      assert.equal(await s.delete('things', 'a'), true);
      assert.equal(await s.delete('things', 'a'), false);
      assert.equal(await s.get('things', 'a'), null);
    } finally {
      await s.close();
    }
  });

  test(`${kind}: list filters on string, number, boolean and null fields, orders newest/oldest, limits`, async () => {
    const { open } = await make();
    const s = await open();
    try {
      for (let i = 0; i < 5; i++) await s.put('c', `id${i}`, { env: i % 2 ? 'staging' : 'production', i, ok: i < 3, note: i === 4 ? null : 'x' });
      await s.put('other', 'z', { env: 'staging' });
      assert.deepEqual((await s.list<{ i: number }>('c', { where: { env: 'staging' }, order: 'oldest' })).map((d) => d.doc.i), [1, 3]);
      assert.deepEqual((await s.list<{ i: number }>('c', { where: { i: 2 } })).map((d) => d.id), ['id2']);
      assert.deepEqual((await s.list<{ i: number }>('c', { where: { ok: true }, order: 'oldest' })).map((d) => d.doc.i), [0, 1, 2]);
      assert.deepEqual((await s.list<{ i: number }>('c', { where: { note: null } })).map((d) => d.doc.i), [4]);
      assert.deepEqual((await s.list<{ i: number }>('c')).map((d) => d.doc.i), [4, 3, 2, 1, 0], 'newest first by default');
      assert.deepEqual((await s.list<{ i: number }>('c', { order: 'oldest', limit: 2 })).map((d) => d.doc.i), [0, 1]);
      await assert.rejects(s.list('c', { where: { 'bad field': 1 } }), /bad field name/);
    } finally {
      await s.close();
    }
  });

  test(`${kind}: meta values and documents survive reopening; several openers at once migrate once`, async () => {
    const { open } = await make();
    const stores = await Promise.all([open(), open(), open()]);
    await stores[0].setMeta('audit.head', '{"seq":1}');
    await stores[1].setMeta('audit.head', '{"seq":2}');
    await stores[2].put('c', 'k', { v: 1 });
    for (const s of stores) await s.close();
    const s = await open();
    try {
      assert.equal(await s.getMeta('audit.head'), '{"seq":2}');
      assert.equal(await s.getMeta('nope'), null);
      assert.deepEqual(await s.get('c', 'k'), { v: 1 });
    } finally {
      await s.close();
    }
  });
}

test('state.store: postgres without its URL is a clear configuration error', async () => {
  const { openStore } = await import('../../src/store/open.js');
  const loaded = { root: project.dir, file: join(project.dir, 'prodguard.yaml'), config: { state: { store: 'postgres', urlEnv: 'TEAM_STORE_URL', path: '', auditLog: '' } } } as never;
  await assert.rejects(openStore(loaded, {}), /state\.store: postgres: the variable TEAM_STORE_URL is not set/);
  await assert.rejects(openStore(loaded, { TEAM_STORE_URL: 'postgresql://nobody@127.0.0.1:1/x' }), /cannot open the team store 127\.0\.0\.1:1\/x/);
});
