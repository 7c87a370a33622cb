/**
 * Red team w6d-346/378/659/679: a read through the gateway or `prodguard mcp` sorted a generated
 * thirty million rows and wrote gigabytes of temporary files on production's disk (sessions ran
 * with temp_file_limit = -1). Read-only sessions now carry temp_file_limit where the login may set
 * it (a superuser, as a shadow's or a Supabase `postgres` URL is); a login that may not keeps its
 * role's own setting and still works.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { sharedCluster, sql } from '../helpers/pg.js';
import { gatewayFixture, PASSWORDS, type GatewayFixture } from './fixture.js';
import { startGateway } from '../../src/gateway/start.js';
import { runReadOnlyQuery, MCP_TEMP_FILE_LIMIT } from '../../src/mcp/tools.js';
import { loadSqlParser } from '../../src/sql/parser.js';

/** Sorts 2M integers without an index: ~28 MB of temporary files with the default work_mem. */
const SPILL = 'SELECT count(*) FROM (SELECT g FROM generate_series(1, 2000000) g ORDER BY g DESC OFFSET 0) s';

async function connect(url: string): Promise<pg.Client> {
  const tls = url.includes('sslmode=require');
  const c = new pg.Client({ connectionString: url.replace(/\?sslmode=\w+/, ''), ssl: tls ? { rejectUnauthorized: false } : false });
  c.on('error', () => {});
  await c.connect();
  return c;
}

describe('read-only sessions cannot fill production’s disk with temporary files', () => {
  const cluster = sharedCluster();
  let f: GatewayFixture;
  before(async () => {
    await loadSqlParser();
    f = await gatewayFixture(cluster(), 'rlim', { tempFileLimit: '2MB' }, `CREATE ROLE rlim_login LOGIN PASSWORD 'rlim-pass'; GRANT pg_read_all_data TO rlim_login;`);
  });
  after(async () => {
    await f?.stop();
  });

  it('gateway with a superuser upstream: every read session carries temp_file_limit, and a spilling sort is stopped by PostgreSQL (53400)', async () => {
    const c = await connect(f.url('dave'));
    try {
      assert.equal((await c.query('SHOW temp_file_limit')).rows[0].temp_file_limit, '2MB');
      await assert.rejects(c.query(SPILL), (e: Error & { code?: string }) => {
        assert.equal(e.code, '53400');
        assert.match(e.message, /temporary file size exceeds temp_file_limit/);
        return true;
      });
      // The session is usable afterwards.
      assert.equal((await c.query('SELECT 1 AS one')).rows[0].one, 1);
    } finally {
      await c.end();
    }
  });

  it('gateway with an upstream login that may not set temp_file_limit: sessions still work, under the role’s own setting', async () => {
    const u = new URL(f.prodUrl);
    u.username = 'rlim_login';
    u.password = 'rlim-pass';
    const envVar = 'RLIM_PROD_URL';
    const saved = process.env[envVar];
    process.env[envVar] = u.toString();
    const started = await startGateway(f.ctx, { env: 'production' });
    try {
      assert.equal(started.gateway.tempFileLimit, null);
      const c = await connect(`postgresql://dave:${PASSWORDS.dave}@127.0.0.1:${started.port}/${u.pathname.slice(1)}?sslmode=require`);
      try {
        assert.equal((await c.query('SELECT current_user AS u')).rows[0].u, 'rlim_login');
        assert.equal((await c.query('SHOW temp_file_limit')).rows[0].temp_file_limit, '-1');
      } finally {
        await c.end();
      }
      // The admin sets it on the role (docs/gateway.md): new sessions get it.
      await sql(f.prodUrl, `ALTER ROLE rlim_login SET temp_file_limit = '3MB'`);
      const c2 = await connect(`postgresql://dave:${PASSWORDS.dave}@127.0.0.1:${started.port}/${u.pathname.slice(1)}?sslmode=require`);
      try {
        assert.equal((await c2.query('SHOW temp_file_limit')).rows[0].temp_file_limit, '3MB');
      } finally {
        await c2.end();
      }
    } finally {
      await started.gateway.close();
      process.env[envVar] = saved;
    }
  });

  it('mcp: an agent’s query runs under temp_file_limit when the login may set it, and under the role’s own otherwise', async () => {
    const su = await connect(f.prodUrl);
    try {
      const r = await runReadOnlyQuery(su, 'SHOW temp_file_limit');
      assert.equal(r.rows[0].temp_file_limit, MCP_TEMP_FILE_LIMIT);
      // Only inside the agent's transaction.
      assert.equal((await su.query('SHOW temp_file_limit')).rows[0].temp_file_limit, '-1');
    } finally {
      await su.end();
    }
    const u = new URL(f.prodUrl);
    u.username = 'rlim_login';
    u.password = 'rlim-pass';
    const plain = await connect(u.toString());
    try {
      const r = await runReadOnlyQuery(plain, 'SHOW temp_file_limit');
      assert.equal(r.rows[0].temp_file_limit, '3MB');
    } finally {
      await plain.end();
    }
  });
});
