/**
 * With `state.store: postgres`, the gateway's per-statement records are copied into the team
 * store's append-only audit table, and `prodguard audit search` finds them from any machine of
 * the team (here: a second checkout that never ran the gateway).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import pg from 'pg';
import { sharedCluster, sql, createDatabase } from '../helpers/pg.js';
import { makeProject, runCli } from '../helpers/cli.js';
import { gatewayFixture, type GatewayFixture } from './fixture.js';

describe('gateway audit in the team store', () => {
  const cluster = sharedCluster();
  let f: GatewayFixture;
  let teamUrl: string;
  before(async () => {
    teamUrl = await createDatabase(cluster(), 'gwts_team');
    process.env.GWTS_TEAM_URL = teamUrl;
    f = await gatewayFixture(cluster(), 'gwts', { requireTls: false }, 'CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2);', { state: { store: 'postgres', urlEnv: 'GWTS_TEAM_URL' } });
  });
  after(async () => {
    await f?.stop();
  });

  it('copies every gateway record into the store and audit search finds them from another checkout', async () => {
    const c = new pg.Client({ connectionString: f.url('dave', 'disable').replace(/\?sslmode=\w+/, ''), ssl: false });
    await c.connect();
    for (let i = 0; i < 50; i++) await c.query(`SELECT id FROM t WHERE id = ${i}`);
    await assert.rejects(c.query('DELETE FROM t WHERE id = 1'), (e: { code?: string }) => e.code === '25006');
    await c.end();
    // Closing the gateway flushes the file and drains the store copy.
    await f.gateway.close();
    const local = readFileSync(f.auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; hash: string; action: string });
    const stored = await sql<{ seq: string; hash: string }>(teamUrl, `SELECT seq, hash FROM prodguard_state.audit_log WHERE record->>'action' LIKE 'gateway.%' ORDER BY seq`);
    assert.deepEqual(stored.map((r) => [Number(r.seq), r.hash]), local.map((r) => [r.seq, r.hash]), 'every record of the file, same chain');
    assert.ok(local.filter((r) => r.action === 'gateway.statement').length >= 51);

    // A teammate's checkout: same team store, no local gateway log.
    const other = makeProject();
    try {
      writeFileSync(join(other.dir, 'prodguard.yaml'), stringify({ version: 1, project: { name: 'acme' }, environments: { production: { kind: 'production', urlEnv: 'GWTS_PROD_URL' } }, team: [{ name: 'alice', role: 'senior' }, { name: 'dave', role: 'developer' }], state: { store: 'postgres', urlEnv: 'GWTS_TEAM_URL' } }));
      const denied = await runCli(['audit', 'search', '--person', 'dave', '--verdict', 'deny', '--env', 'production', '--json'], { cwd: other.dir });
      assert.equal(denied.code, 0, denied.stderr);
      const found = JSON.parse(denied.stdout) as Array<{ command: string; verdict: string; actor: string }>;
      assert.ok(found.some((r) => r.command === 'DELETE FROM t WHERE id = ?'), denied.stdout);
      assert.ok(found.every((r) => r.verdict === 'deny' && r.actor === 'dave'));
      const allowed = await runCli(['audit', 'search', '--person', 'dave', '--verdict', 'allow', '--action', 'gateway.statement', '-n', '100', '--json'], { cwd: other.dir });
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.equal((JSON.parse(allowed.stdout) as unknown[]).length, 50);
      const nobody = await runCli(['audit', 'search', '--person', 'alice', '--action', 'gateway.statement', '--json'], { cwd: other.dir });
      assert.deepEqual(JSON.parse(nobody.stdout), []);
    } finally {
      other.cleanup();
    }
  });
});
