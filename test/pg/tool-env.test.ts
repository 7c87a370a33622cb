/**
 * Red team w5d-168/169: with PGHOSTADDR=<production's address> in the environment, prodguard's
 * identity check (node-postgres) read the server the URL names while pg_restore (libpq, which
 * honours PGHOSTADDR) wrote onto production. The PostgreSQL tools prodguard runs get an
 * environment without the libpq-only variables that move or widen a connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPgTool } from '../../src/pg/run-tool.js';
import { toolEnv } from '../../src/pg/tool-env.js';
import { sharedCluster } from '../helpers/pg.js';

const cluster = sharedCluster({ name: 'prodguard-tool-env' });

test('tools connect where the checked connection string says, whatever PGHOSTADDR / PGSERVICE say', async () => {
  const c = cluster();
  const saved = { ...process.env };
  try {
    // The string names 127.0.0.2, where nothing listens; PGHOSTADDR points at the real server.
    process.env.PGHOSTADDR = '127.0.0.1';
    process.env.PGOPTIONS = '-c session_replication_role=replica';
    const elsewhere = `postgresql://postgres@127.0.0.2:${c.port}/postgres?connect_timeout=3`;
    await assert.rejects(runPgTool('psql', ['-X', '-A', '-t', '-c', 'SELECT 1', elsewhere]), /accepting TCP\/IP connections/, 'refused at 127.0.0.2, not connected to 127.0.0.1');
    // The real server, named by the string, still works, and no setting rode along in PGOPTIONS.
    const r = await runPgTool('psql', ['-X', '-A', '-t', '-c', 'SHOW session_replication_role', c.url()]);
    assert.equal(r.stdout.trim(), 'origin');
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  const env = toolEnv({ PGPASSWORD: 'kept' }, { PGHOSTADDR: 'x', PGSERVICE: 'x', PGSERVICEFILE: 'x', PGSYSCONFDIR: 'x', PGTARGETSESSIONATTRS: 'x', PGLOADBALANCEHOSTS: 'x', PGOPTIONS: 'x', PATH: '/bin', PGHOST: 'h' });
  assert.deepEqual(env, { PATH: '/bin', PGHOST: 'h', PGPASSWORD: 'kept' });
});
