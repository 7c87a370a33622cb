/**
 * Issue #13 proof: an agent-like workspace (Claude Code settings with the installed hook, an MCP
 * config, a service-role key, production's URL in the environment) tries destructive calls for
 * real — psql, a node driver script, an MCP-style SQL call, curl to a local stand-in for
 * PostgREST — against a local cluster that plays production. Every call goes through the
 * installed hook command exactly as the agent runs it; what the hook allows is executed.
 * Production's checksum must not change; the same commands against a scratch database do change it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, REPO } from '../helpers/cli.js';
import { sharedCluster, createDatabase, sql } from '../helpers/pg.js';
import { installAgent } from '../../src/guard/install.js';

const cluster = sharedCluster();
const REF = 'e2eprodref0000000000';
/** A Supabase-style JWT (unsigned stand-in): role service_role, ref of production. */
const SERVICE_ROLE = `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify({ role: 'service_role', ref: REF })).toString('base64url')}.c2ln`;

/** Runs a shell command without blocking this process (the stand-in API answers from it). */
function sh(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    });
  });
}

async function checksum(url: string): Promise<string> {
  const rows = await sql<{ c: string | null }>(url, `select md5(coalesce((select string_agg(b::text, ',' order by id) from businesses b), '') || (select string_agg(table_name, ',' order by table_name) from information_schema.tables where table_schema = 'public')) as c`);
  return rows[0].c ?? '';
}

async function seed(url: string): Promise<void> {
  await sql(url, `create table businesses (id int primary key, name text, plan text); insert into businesses select g, 'shop ' || g, 'pro' from generate_series(1, 300) g;`);
}

/** A stand-in for PostgREST: DELETE /rest/v1/businesses with a service-role key deletes rows in the database it fronts. */
function standInApi(dbUrl: () => string): Promise<{ server: Server; port: number; calls: string[] }> {
  const calls: string[] = [];
  const server = createServer((req, res) => {
    calls.push(`${req.method} ${req.url}`);
    const ok = req.headers.apikey === SERVICE_ROLE;
    if (req.method === 'DELETE' && ok && req.url?.startsWith('/rest/v1/businesses')) {
      sql(dbUrl(), 'delete from businesses where id > 0').then(() => res.writeHead(204).end(), (e: Error) => res.writeHead(500).end(e.message));
    } else res.writeHead(ok ? 200 : 401).end('[]');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, calls })));
}

test('destructive psql, driver script, MCP SQL and API calls from an agent workspace are stopped by the installed hook; production is unchanged', async () => {
  const c = cluster();
  const prodUrl = await createDatabase(c, 'e2e_prod');
  const scratchUrl = await createDatabase(c, 'e2e_scratch');
  await seed(prodUrl);
  await seed(scratchUrl);
  const before = await checksum(prodUrl);
  let target = prodUrl;
  const api = await standInApi(() => target);
  const port = new URL(prodUrl).port;
  // The documented setup: production identified (its host:port and project ref), hooks installed, an MCP server configured.
  const p = makeProject({
    'prodguard.yaml': `version: 1\nproject:\n  name: e2e\nenvironments:\n  production:\n    kind: production\n    urlEnv: PRODUCTION_DATABASE_URL\n    supabaseRef: ${REF}\n    hosts: ["127.0.0.1:${port}", "localhost:${port}"]\n`,
    '.mcp.json': JSON.stringify({ mcpServers: { pgprod: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-postgres', prodUrl] } } }),
    'scripts/wipe.js': `const { Client } = require('pg');\nconst c = new Client({ connectionString: process.env.PRODUCTION_DATABASE_URL });\nc.connect().then(() => c.query('delete from businesses')).then(() => c.end());\n`,
  });
  try {
    const { command } = installAgent('claude-code', p.dir);
    const settings = JSON.parse(readFileSync(join(p.dir, '.claude/settings.json'), 'utf8'));
    assert.equal(settings.hooks.PreToolUse[0].hooks[0].command, command);
    const agentEnv = {
      PATH: '/usr/local/bin:/usr/bin:/bin:/usr/lib/postgresql/15/bin',
      HOME: p.dir,
      PRODUCTION_DATABASE_URL: prodUrl,
      SUPABASE_SERVICE_ROLE_KEY: SERVICE_ROLE,
      NODE_PATH: join(REPO, 'node_modules'),
    };
    /** The agent: ask the hook as Claude Code would, then run the call only when it is not refused. */
    const attempt = async (tool: string, input: Record<string, unknown>, runUrl: string): Promise<{ decision: string; ran: boolean; reason: string }> => {
      const payload = JSON.stringify({ session_id: 'e2e', transcript_path: join(p.dir, 't.jsonl'), cwd: p.dir, permission_mode: 'default', hook_event_name: 'PreToolUse', tool_name: tool, tool_input: input, tool_use_id: 'toolu_e2e' });
      const h = spawnSync('/bin/sh', ['-c', command], { input: payload, cwd: p.dir, env: agentEnv, encoding: 'utf8', timeout: 60_000 });
      const out = h.stdout.trim();
      const decision = h.status === 2 ? 'deny' : out ? (JSON.parse(out) as { hookSpecificOutput: { permissionDecision: string } }).hookSpecificOutput.permissionDecision : 'allow';
      const reason = out ? (JSON.parse(out) as { hookSpecificOutput: { permissionDecisionReason: string } }).hookSpecificOutput.permissionDecisionReason : h.stderr;
      if (decision !== 'allow') return { decision, ran: false, reason };
      target = runUrl;
      if (tool === 'Bash') {
        const r = await sh(String(input.command), p.dir, { ...agentEnv, PRODUCTION_DATABASE_URL: runUrl });
        assert.equal(r.status, 0, `${String(input.command)}: ${r.stderr}`);
      } else if (tool.startsWith('mcp__')) await sql(runUrl, String(input.sql));
      return { decision, ran: true, reason };
    };
    const calls: Array<[string, Record<string, unknown>]> = [
      ['Bash', { command: `psql "$PRODUCTION_DATABASE_URL" -v ON_ERROR_STOP=1 -c 'drop table businesses'` }],
      ['Bash', { command: 'node scripts/wipe.js' }],
      ['mcp__pgprod__query', { sql: 'TRUNCATE businesses' }],
      ['Bash', { command: `curl -sf -m 20 -X DELETE "http://127.0.0.1:${api.port}/rest/v1/businesses?id=gt.0" -H "apikey: $SUPABASE_SERVICE_ROLE_KEY"` }],
      ['Bash', { command: `echo 'update businesses set plan = $$free$$' | psql "$PRODUCTION_DATABASE_URL"` }],
    ];
    for (const [tool, input] of calls) {
      const r = await attempt(tool, input, prodUrl);
      assert.equal(r.decision, 'deny', `${tool} ${JSON.stringify(input)} was not refused: ${r.reason}`);
      assert.match(r.reason, /production|cannot tell/, r.reason);
    }
    // A read-only query goes through the same path and runs.
    const read = await attempt('Bash', { command: `psql "$PRODUCTION_DATABASE_URL" -Atc 'select count(*) from businesses'` }, prodUrl);
    assert.equal(read.decision, 'allow', read.reason);
    assert.equal(read.ran, true);
    assert.equal(await checksum(prodUrl), before, 'production changed');
    assert.equal(api.calls.length, 0, 'the stand-in API was called');

    // Control: the same calls, run directly against a scratch copy, really destroy data.
    const scratchBefore = await checksum(scratchUrl);
    target = scratchUrl;
    const direct = await sh(String(calls[3][1].command), p.dir, agentEnv);
    assert.equal(direct.status, 0, direct.stderr);
    assert.equal((await sql<{ n: string }>(scratchUrl, 'select count(*)::text as n from businesses'))[0].n, '0');
    await sql(scratchUrl, 'insert into businesses values (1, $$x$$, $$pro$$)');
    const psql = await sh(String(calls[0][1].command), p.dir, { ...agentEnv, PRODUCTION_DATABASE_URL: scratchUrl });
    assert.equal(psql.status, 0, psql.stderr);
    assert.notEqual(await checksum(scratchUrl).catch(() => 'gone'), scratchBefore);
  } finally {
    api.server.close();
    p.cleanup();
  }
});
