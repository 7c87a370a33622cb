/**
 * `prodguard mcp` as an agent sees it: the official SDK's client starts the real CLI over stdio,
 * lists the tools and calls them against a real database — reads answer, writes are refused and
 * change nothing, request_change writes a migration file and never applies it. The second part
 * runs the MCP server through the gateway (PRODGUARD_GATEWAY_URL) as a read-only gateway user.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { sharedCluster, sql, createDatabase } from '../helpers/pg.js';
import { CLI, TSX, makeProject } from '../helpers/cli.js';
import { gatewayFixture, type GatewayFixture } from './fixture.js';

type TextResult = { content: Array<{ type: string; text: string }>; isError?: boolean };

async function mcpClient(cwd: string, env: Record<string, string>): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--import', TSX, CLI, 'mcp', '--env', 'production'],
    cwd,
    env: { ...(process.env as Record<string, string>), ...env },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'prodguard-test-agent', version: '1' });
  await client.connect(transport);
  return client;
}

const call = async (c: Client, name: string, args: Record<string, unknown> = {}) => (await c.callTool({ name, arguments: args })) as TextResult;

describe('prodguard mcp', () => {
  const cluster = sharedCluster();
  let prodUrl: string;
  let project: { dir: string; cleanup(): void };
  let client: Client;
  before(async () => {
    prodUrl = await createDatabase(cluster(), 'mcp_prod');
    await sql(prodUrl, `CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL); CREATE INDEX ON customers (email);
      INSERT INTO customers SELECT i, 'c' || i || '@example.com' FROM generate_series(1, 500) i;`);
    project = makeProject({ 'migrations/0001_init.sql': 'CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL);\n' });
    writeFileSync(join(project.dir, 'prodguard.yaml'), stringify({
      version: 1,
      project: { name: 'acme', migrationsDir: 'migrations' },
      environments: { production: { kind: 'production', urlEnv: 'MCP_PROD_URL' } },
      team: [{ name: 'alice', role: 'senior' }],
    }));
    client = await mcpClient(project.dir, { MCP_PROD_URL: prodUrl });
  });
  after(async () => {
    await client?.close();
    project?.cleanup();
  });

  it('lists its tools', async () => {
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(names, ['backup_status', 'deploy_status', 'describe_schema', 'describe_table', 'explain', 'query', 'request_change']);
  });

  it('answers a read-only query with a row limit', async () => {
    const r = await call(client, 'query', { sql: 'SELECT id, email FROM customers ORDER BY id', limit: 3 });
    assert.ok(!r.isError, r.content[0].text);
    const out = JSON.parse(r.content[0].text) as { rows: Array<{ id: number }>; truncated: boolean; columns: string[] };
    assert.deepEqual(out.rows.map((x) => x.id), [1, 2, 3]);
    assert.equal(out.truncated, true);
    assert.deepEqual(out.columns, ['id', 'email']);
  });

  it('refuses writes, hidden writes and multiple statements, and the data stays', async () => {
    for (const s of ['DELETE FROM customers', "SELECT set_config('default_transaction_read_only', 'off', false)", 'SELECT 1; DROP TABLE customers', 'EXPLAIN ANALYZE DELETE FROM customers']) {
      const r = await call(client, 'query', { sql: s });
      assert.equal(r.isError, true, s);
    }
    const r = await call(client, 'explain', { sql: 'DELETE FROM customers' });
    assert.equal(r.isError, true);
    assert.match(r.content[0].text, /refused: destructive/);
    assert.equal((await sql<{ n: number }>(prodUrl, 'SELECT count(*)::int AS n FROM customers'))[0].n, 500);
  });

  it('describes the schema and a table, and explains a query without running it', async () => {
    const schema = JSON.parse((await call(client, 'describe_schema')).content[0].text) as Array<{ table: string }>;
    assert.ok(schema.some((t) => t.table === 'customers'));
    const table = JSON.parse((await call(client, 'describe_table', { table: 'customers' })).content[0].text) as { columns: Array<{ name: string; type: string; nullable: boolean }>; indexes: unknown[] };
    assert.deepEqual(table.columns.map((c) => [c.name, c.type, c.nullable]), [['id', 'integer', false], ['email', 'text', false]]);
    assert.equal(table.indexes.length, 2);
    const plan = (await call(client, 'explain', { sql: 'SELECT * FROM customers WHERE id = 7' })).content[0].text;
    assert.match(plan, /Index Scan|Seq Scan|Bitmap/);
  });

  it('shows backup and deploy status', async () => {
    const b = JSON.parse((await call(client, 'backup_status')).content[0].text) as { backups: number; newestVerified: unknown };
    assert.equal(b.backups, 0);
    assert.equal(b.newestVerified, null);
    const d = JSON.parse((await call(client, 'deploy_status')).content[0].text) as { migrations: string[]; rules: Array<{ rule: number }> };
    assert.deepEqual(d.migrations, ['0001_init.sql']);
    assert.deepEqual(d.rules.map((r) => r.rule).sort(), [3, 5]);
  });

  it('request_change writes a linted migration file and applies nothing; every call is audited', async () => {
    const r = await call(client, 'request_change', { name: 'drop_email', sql: 'ALTER TABLE customers DROP COLUMN email;', reason: 'agent thinks email is unused' });
    assert.ok(!r.isError, r.content[0].text);
    const out = JSON.parse(r.content[0].text) as { file: string; findings: Array<{ rule: string }> };
    assert.match(out.file, /^migrations\/\d{14}_drop_email\.sql$/);
    assert.match(readFileSync(join(project.dir, out.file), 'utf8'), /ALTER TABLE customers DROP COLUMN email/);
    assert.ok(out.findings.some((f) => f.rule === 'ban-drop-column'));
    assert.equal((await sql(prodUrl, `SELECT 1 FROM information_schema.columns WHERE table_name = 'customers' AND column_name = 'email'`)).length, 1);
    const audit = readFileSync(join(project.dir, '.prodguard/audit.jsonl'), 'utf8');
    assert.match(audit, /"action":"mcp\.query","command":"SELECT id, email FROM customers ORDER BY id"/);
    assert.match(audit, /"action":"mcp\.query".*"verdict":"deny"/);
    assert.match(audit, /"action":"mcp\.request_change"/);
    assert.ok(readdirSync(join(project.dir, 'migrations')).length === 2);
  });

  it('red team ag-000/ag-001: catalogs holding credentials are refused even when the connection could read them', async () => {
    for (const s of ['SELECT rolname, rolpassword FROM pg_authid', 'SELECT * FROM pg_shadow', 'SELECT subconninfo FROM pg_subscription', 'SELECT * FROM pg_file_settings']) {
      const r = await call(client, 'query', { sql: s });
      assert.equal(r.isError, true, s);
      assert.match(r.content[0].text, /refused: privilege statement \(SELECT reads pg_\w+, which holds/, s);
    }
    // Red team w5d: the same catalogs by another spelling, and what the connection's role sees of other sessions and settings.
    for (const s of ["SELECT table_to_xml('pg_authid', true, false, '')", 'SELECT table_to_xml(1260, true, false, \'\')', 'SELECT * FROM information_schema.user_mapping_options', "SELECT query FROM pg_stat_activity", 'SHOW ALL', "SELECT name, setting FROM pg_settings", "SELECT current_setting('app.settings.jwt_secret', true)"]) {
      const r = await call(client, 'query', { sql: s });
      assert.equal(r.isError, true, s);
      assert.match(r.content[0].text, /refused: privilege statement/, s);
    }
    assert.ok(!(await call(client, 'query', { sql: 'SHOW search_path' })).isError, 'a named harmless setting stays readable');
  });

  it('red team w5d: two columns with one name both answer', async () => {
    const r = await call(client, 'query', { sql: 'SELECT 1 AS a, 2 AS a, 3 AS b' });
    assert.ok(!r.isError, r.content[0].text);
    const out = JSON.parse(r.content[0].text) as { columns: string[]; rows: Array<Record<string, number>> };
    assert.deepEqual(out.columns, ['a', 'a (2)', 'b']);
    assert.deepEqual(out.rows, [{ a: 1, 'a (2)': 2, b: 3 }]);
  });

  it('red team ag-010: parallel tool calls on the one connection all answer', async () => {
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => call(client, 'query', { sql: `SELECT ${i} AS n, count(*)::int AS c FROM customers` })));
    assert.deepEqual(rs.map((r) => (r.isError ? r.content[0].text : (JSON.parse(r.content[0].text) as { rows: Array<{ n: number }> }).rows[0].n)), Array.from({ length: 20 }, (_, i) => i));
  });

  it('red team ag-009: a huge result is cut to size and the session stays usable', async () => {
    const r = await call(client, 'query', { sql: "SELECT repeat('x', 20000000) AS big, 1 AS one" });
    assert.ok(!r.isError, r.content[0].text.slice(0, 200));
    const out = JSON.parse(r.content[0].text) as { rows: Array<{ big: string; one: number }>; note?: string };
    assert.ok(out.rows[0].big.length < 200_000);
    assert.match(out.rows[0].big, /… \[20000000 characters, cut\]$/);
    assert.equal(out.rows[0].one, 1);
    assert.match(out.note ?? '', /1 value\(s\) cut at 100000 characters/);
    const many = JSON.parse((await call(client, 'query', { sql: "SELECT g, repeat('y', 90000) AS pad FROM generate_series(1, 1000) g", limit: 1000 })).content[0].text) as { rows: unknown[]; truncated: boolean; note?: string };
    assert.ok(many.rows.length < 20 && many.rows.length > 0);
    assert.equal(many.truncated, true);
    assert.match(many.note ?? '', /answer cut at \d+ row\(s\): more than 1000000 characters/);
    assert.ok(!(await call(client, 'query', { sql: 'SELECT 1 AS ok' })).isError);
  });

  it('red team ag-002: calls rejected before running (bad arguments, unknown tool) are audited', async () => {
    const bad = await call(client, 'query', { sql: 'SELECT 1', limit: 5000 });
    assert.equal(bad.isError, true);
    const unknown = await client.callTool({ name: 'drop_everything', arguments: { really: 'yes' } }).catch((e: Error) => ({ isError: true, content: [{ type: 'text', text: e.message }] })) as TextResult;
    assert.equal(unknown.isError, true);
    const audit = readFileSync(join(project.dir, '.prodguard/audit.jsonl'), 'utf8');
    assert.match(audit, /"action":"mcp\.query","command":"query \{\\"sql\\":\\"SELECT 1\\",\\"limit\\":\?\}".*"verdict":"deny","reason":"rejected before running: [^"]*Input validation error/);
    assert.match(audit, /"action":"mcp\.drop_everything".*"verdict":"deny","reason":"rejected before running: [^"]*drop_everything not found/);
  });

  it('red team ag-008: two change requests in the same second get distinct versions', async () => {
    const [a, b] = await Promise.all(['add_a', 'add_b'].map((name) => call(client, 'request_change', { name, sql: `CREATE INDEX CONCURRENTLY ${name}_idx ON customers (email);`, reason: 'parallel agent calls' })));
    const files = [a, b].map((r) => (JSON.parse(r.content[0].text) as { file: string }).file);
    const versions = files.map((f) => f.split('/')[1].split('_')[0]);
    assert.notEqual(versions[0], versions[1], files.join(' '));
  });
});

describe('prodguard mcp through the gateway', () => {
  const cluster = sharedCluster();
  let f: GatewayFixture;
  let client: Client;
  before(async () => {
    f = await gatewayFixture(cluster(), 'mcpgw', {}, 'CREATE TABLE things (id int); INSERT INTO things VALUES (1), (2);');
    client = await mcpClient(f.dir, { MCPGW_PROD_URL: 'postgresql://unused@127.0.0.1:1/none', PRODGUARD_GATEWAY_URL: f.url('dave', 'no-verify') });
  });
  after(async () => {
    await client?.close();
    await f?.stop();
  });

  it('queries through the gateway as the gateway user, which audits the statement', async () => {
    const r = await call(client, 'query', { sql: 'SELECT count(*)::int AS n FROM things' });
    assert.ok(!r.isError, r.content[0].text);
    assert.equal((JSON.parse(r.content[0].text) as { rows: Array<{ n: number }> }).rows[0].n, 2);
    f.gateway.flushAudit();
    assert.ok(existsSync(f.auditFile));
    assert.match(readFileSync(f.auditFile, 'utf8'), /"actor":"dave".*SELECT count\(\*\)::int AS n FROM things/);
  });
});
