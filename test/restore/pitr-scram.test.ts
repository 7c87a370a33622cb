/**
 * PITR from a primary that asks for passwords, like any real server (SCRAM in pg_hba.conf). The
 * base backup carries that pg_hba.conf into the recovering copy, where prodguard holds no
 * password: the drill waited 30 minutes on a refused login (red team ag-167, ag-176). The copy now
 * trusts loopback while prodguard recovers and checks it, and gets the source's file back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { sharedCluster, sql } from '../helpers/pg.js';
import { pitrProject, switchAndWaitArchived } from './pitr-helpers.js';
import { contextFrom } from '../../src/context.js';
import { loadConfig } from '../../src/config/load.js';
import { makeServerDir } from '../../src/pg/cluster.js';
import { pitrRestore, parseTarget } from '../../src/restore/pitr/restore.js';

const cluster = sharedCluster({ name: 'prodguard-pitr-scram', durable: true });
const HBA = 'local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\nhost replication all 127.0.0.1/32 scram-sha-256\n';

test('a primary with SCRAM logins: PITR --latest restores every commit, and the copy keeps the source pg_hba.conf', async (t) => {
  const c = cluster();
  await sql(c.url(), `SET password_encryption = 'scram-sha-256'; ALTER ROLE postgres PASSWORD 'real-server-pw'`);
  writeFileSync(join(c.dataDir, 'pg_hba.conf'), HBA);
  await sql(c.url(), 'SELECT pg_reload_conf()');
  const url = c.url().replace('//postgres@', '//postgres:real-server-pw@');
  assert.notEqual(url, c.url());
  await assert.rejects(sql(c.url(), 'SELECT 1'), /password authentication failed|no password|client password must be a string/, 'the primary now asks for a password');

  const p = await pitrProject(c, 'archive-command');
  t.after(p.cleanup);
  p.env.PRODUCTION_DATABASE_URL = url;
  const cli = (args: string[]) => runCli(args, { cwd: p.dir, env: p.env });
  const en = await cli(['pitr', 'enable', '--env', 'production']);
  assert.equal(en.code, 0, en.stderr);
  await c.stop();
  await c.start();
  await sql(url, 'CREATE TABLE ledger (id int PRIMARY KEY)');
  const base = await cli(['pitr', 'base-backup', '--env', 'production']);
  assert.equal(base.code, 0, base.stderr);
  await sql(url, 'INSERT INTO ledger VALUES (1), (2)');
  await switchAndWaitArchived(url);

  const ctx = contextFrom(loadConfig({ cwd: p.dir }));
  t.after(() => ctx.close());
  const root = makeServerDir('pg-pitr-scram');
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const to = join(root, 'data');
  const r = await pitrRestore(ctx, { environment: 'production', target: parseTarget({ latest: true }), to, keepRunning: true, env: p.env });
  try {
    const rows = await sql<{ id: number }>(r.cluster!.url(), 'SELECT id FROM ledger ORDER BY id');
    assert.deepEqual(rows.map((x) => x.id), [1, 2]);
  } finally {
    await r.cluster!.destroy();
  }
  assert.equal(readFileSync(join(to, 'pg_hba.conf'), 'utf8'), HBA, "the restored cluster gets the source's pg_hba.conf back");
});
