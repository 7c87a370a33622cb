/**
 * "Never restore onto production" by server identity (issue #15 item 3): production's server is
 * recognised by its system identifier whatever the spelling — localhost instead of 127.0.0.1, a
 * Unix socket, a key=value string, another database name — and even when production's URL is
 * not configured in this shell (the backup's manifest records the identifier). Another server
 * reached by a socket or a key=value string restores normally.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { runCli, makeProject, minimalConfig } from '../helpers/cli.js';
import { sharedCluster, sql, createDatabase } from '../helpers/pg.js';
import { contextFrom } from '../../src/context.js';
import { loadConfig } from '../../src/config/load.js';
import { createBackup } from '../../src/backup/create.js';

const prod = sharedCluster({ name: 'prodguard-ident-prod' });
const other = sharedCluster({ name: 'prodguard-ident-other' });

test('restore onto production\'s server is refused however it is spelled', async (t) => {
  const c = prod();
  const o = other();
  const shop = await createDatabase(c, 'shop');
  await sql(shop, `CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 50)`);
  const identity = await generateIdentity();
  const p = makeProject({ 'prodguard.yaml': minimalConfig(`backup:\n  encryption:\n    recipients: [${await identityToRecipient(identity)}]\n  destinations:\n    - { name: local, type: local, path: backups }\n`) });
  t.after(p.cleanup);
  const env = { PRODUCTION_DATABASE_URL: shop, PRODGUARD_AGE_IDENTITY: identity };
  Object.assign(process.env, env);
  const ctx = contextFrom(loadConfig({ cwd: p.dir }));
  const b = await createBackup(ctx, { env: 'production' });
  await ctx.close();
  assert.match(b.manifest.systemIdentifier ?? '', /^\d+$/, 'the manifest records the server identity');

  const spellings = [
    `postgresql://postgres@localhost:${c.port}/postgres`,
    `postgresql://postgres@/postgres?host=${encodeURIComponent(c.baseDir)}&port=${c.port}`,
    `host=${c.baseDir} port=${c.port} dbname=postgres user=postgres`,
    `host=127.0.0.1 port=${c.port} dbname=shop user=postgres`,
  ];
  for (const withProdUrl of [true, false]) {
    const runEnv = withProdUrl ? env : { PRODGUARD_AGE_IDENTITY: identity, PRODUCTION_DATABASE_URL: undefined };
    for (const to of spellings) {
      const r = await runCli(['restore', 'latest', '--env', 'production', '--to', to, '--new-database', 'sneaky'], { cwd: p.dir, env: runEnv });
      assert.equal(r.code, 1, `${to}: ${r.stderr}`);
      assert.match(r.stderr, /refusing to restore (onto|over) production/, to);
      assert.ok(!r.stderr.includes('\n    at '), 'no stack trace');
    }
  }
  assert.deepEqual(await sql(c.url(), `SELECT datname FROM pg_database WHERE datname = 'sneaky'`), [], 'nothing was created on production');

  // Another server, by socket and by key=value: restores.
  for (const [to, db] of [
    [`postgresql://postgres@/postgres?host=${encodeURIComponent(o.baseDir)}&port=${o.port}`, 'copy_socket'],
    [`host=${o.baseDir} port=${o.port} dbname=postgres user=postgres`, 'copy_kv'],
  ]) {
    const r = await runCli(['restore', 'latest', '--env', 'production', '--to', to, '--new-database', db, '--json'], { cwd: p.dir, env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await sql<{ n: number }>(o.url(db), 'SELECT count(*)::int AS n FROM items'))[0].n, 50);
  }
});
