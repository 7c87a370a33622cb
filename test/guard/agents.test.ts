/** Issue #13 item 1–2: the agent hooks (Claude Code, Cursor, Gemini CLI) over one engine; fail-closed install; status probes the installed hook. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentHook } from '../../src/guard/hook.js';
import { installAgent, installedHookCommands, hookEntry } from '../../src/guard/install.js';
import { probeHook } from '../../src/guard/probe-hook.js';
import { checks } from '../../src/status/checks/guard.js';
import { openContext } from '../../src/context.js';
import { fixtureEnv } from './env.js';

const here = dirname(fileURLToPath(import.meta.url));
function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'prodguard-agents-'));
  cpSync(join(here, 'fixture'), dir, { recursive: true });
  mkdirSync(join(dir, 'supabase/.temp'), { recursive: true });
  writeFileSync(join(dir, 'supabase/.temp/project-ref'), 'qwikkerprod123456789\n');
  return dir;
}
const dir = project();
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const env = { ...fixtureEnv, PATH: process.env.PATH ?? '/usr/bin:/bin' };

const claude = (tool_name: string, tool_input: unknown) => JSON.stringify({ session_id: 's', hook_event_name: 'PreToolUse', cwd: dir, tool_name, tool_input });
const cursorShell = (command: string) => JSON.stringify({ hook_event_name: 'beforeShellExecution', conversation_id: 'c', workspace_roots: [dir], cwd: dir, command });
const cursorMcp = (tool_name: string, tool_input: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({ hook_event_name: 'beforeMCPExecution', workspace_roots: [dir], tool_name, tool_input: JSON.stringify(tool_input), ...extra });
const gemini = (tool_name: string, tool_input: unknown) => JSON.stringify({ session_id: 's', hook_event_name: 'BeforeTool', cwd: dir, tool_name, tool_input });

const claudeDecision = (stdout: string) => (stdout ? (JSON.parse(stdout) as { hookSpecificOutput: { permissionDecision: string } }).hookSpecificOutput.permissionDecision : 'allow');

test('Claude Code: Bash, MCP SQL, Supabase management and file writes are decided; allow prints nothing', async () => {
  const ask = async (tool: string, input: unknown) => claudeDecision((await agentHook('claude-code', claude(tool, input), env)).stdout);
  assert.equal(await ask('Bash', { command: 'supabase db reset --linked' }), 'deny');
  assert.equal(await ask('Bash', { command: 'git status' }), 'allow');
  assert.equal(await ask('mcp__supabase__execute_sql', { project_id: 'qwikkerprod123456789', query: 'DROP TABLE businesses' }), 'deny');
  assert.equal(await ask('mcp__supabase__execute_sql', { project_id: 'qwikkerprod123456789', query: 'select count(*) from businesses' }), 'allow');
  assert.equal(await ask('mcp__supabase__apply_migration', { project_id: 'qwikkerprod123456789', name: 'x', query: 'create table t (id int)' }), 'deny');
  for (const t of ['delete_branch', 'reset_branch', 'merge_branch', 'pause_project', 'restore_project']) assert.equal(await ask(`mcp__supabase__${t}`, { project_id: 'qwikkerprod123456789', branch_id: 'b' }), 'deny', t);
  assert.equal(await ask('mcp__supabase__list_tables', { project_id: 'qwikkerprod123456789' }), 'allow');
  assert.equal(await ask('mcp__postgres__query', { sql: 'TRUNCATE orders' }), 'deny');
  assert.equal(await ask('Write', { file_path: join(dir, 'prodguard.yaml'), content: 'x' }), 'deny');
  assert.equal(await ask('Edit', { file_path: '.claude/settings.json', old_string: 'a', new_string: 'b' }), 'deny');
  assert.equal(await ask('Write', { file_path: '.cursor/hooks.json', content: '{}' }), 'deny');
  assert.equal(await ask('Write', { file_path: 'src/app.ts', content: 'x' }), 'allow');
  assert.equal(await ask('Read', { file_path: 'prodguard.yaml' }), 'allow');
});

test('MCP targets come from the server configuration: project ref, connection string; unknown tools of a production server ask', async () => {
  const p = project();
  try {
    writeFileSync(join(p, '.mcp.json'), JSON.stringify({ mcpServers: {
      supa: { command: 'npx', args: ['-y', '@supabase/mcp-server-supabase@latest', '--project-ref=qwikkerprod123456789'] },
      stage: { command: 'npx', args: ['-y', '@supabase/mcp-server-supabase@latest', '--read-only', '--project-ref', 'stagingref1234567890'] },
      pglocal: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-postgres', 'postgresql://postgres:postgres@127.0.0.1:54322/postgres'] },
      pgprod: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-postgres', 'postgresql://postgres:x@db.qwikkerprod123456789.supabase.co:5432/postgres'] },
      docs: { command: 'npx', args: ['-y', 'some-docs-server'] },
    } }));
    const ask = async (tool: string, input: unknown) => {
      const r = await agentHook('claude-code', JSON.stringify({ hook_event_name: 'PreToolUse', cwd: p, tool_name: tool, tool_input: input }), env);
      return claudeDecision(r.stdout);
    };
    assert.equal(await ask('mcp__supa__execute_sql', { query: 'drop table businesses' }), 'deny');
    assert.equal(await ask('mcp__pglocal__query', { sql: 'drop table businesses' }), 'allow');
    assert.equal(await ask('mcp__pgprod__query', { sql: 'delete from businesses' }), 'deny');
    assert.equal(await ask('mcp__pgprod__query', { sql: 'select 1' }), 'allow');
    assert.equal(await ask('mcp__supa__deploy_edge_function', { name: 'x' }), 'ask');
    assert.equal(await ask('mcp__docs__lookup', { q: 'x' }), 'allow');
    const r = await agentHook('claude-code', JSON.stringify({ hook_event_name: 'PreToolUse', cwd: p, tool_name: 'mcp__supa__execute_sql', tool_input: { query: 'drop table businesses' } }), env);
    assert.match(JSON.parse(r.stdout).hookSpecificOutput.permissionDecisionReason, /qwikker-prod \(production\)/);
  } finally {
    rmSync(p, { recursive: true, force: true });
  }
});

test('Cursor: beforeShellExecution and beforeMCPExecution answer permission deny (exit 2) / allow', async () => {
  const deny = await agentHook('cursor', cursorShell('supabase db reset --linked'), env);
  assert.equal(JSON.parse(deny.stdout).permission, 'deny');
  assert.equal(deny.code, 2);
  assert.match(deny.stderr, /qwikker-prod/);
  const allow = await agentHook('cursor', cursorShell('git status'), env);
  assert.equal(JSON.parse(allow.stdout).permission, 'allow');
  assert.equal(allow.code, 0);
  const mcp = await agentHook('cursor', cursorMcp('execute_sql', { query: 'truncate orders' }, { command: 'npx -y @supabase/mcp-server-supabase --project-ref=qwikkerprod123456789' }), env);
  assert.equal(JSON.parse(mcp.stdout).permission, 'deny');
  const read = await agentHook('cursor', cursorMcp('MCP:supabase:execute_sql', { project_id: 'qwikkerprod123456789', query: 'select 1' }), env);
  assert.equal(JSON.parse(read.stdout).permission, 'allow');
  const write = await agentHook('cursor', JSON.stringify({ hook_event_name: 'preToolUse', workspace_roots: [dir], tool_name: 'Write', tool_input: { file_path: '.cursor/hooks.json' } }), env);
  assert.equal(JSON.parse(write.stdout).permission, 'deny');
});

test('Gemini CLI: BeforeTool denies with exit 2 and the reason on stderr; allows with exit 0', async () => {
  const deny = await agentHook('gemini', gemini('run_shell_command', { command: `psql "$PRODUCTION_DATABASE_URL" -c 'drop table businesses'` }), env);
  assert.equal(deny.code, 2);
  assert.equal(JSON.parse(deny.stdout).decision, 'deny');
  assert.match(deny.stderr, /production/);
  const allow = await agentHook('gemini', gemini('run_shell_command', { command: 'ls -la' }), env);
  assert.equal(allow.code, 0);
  assert.equal((await agentHook('gemini', gemini('write_file', { file_path: 'prodguard.yaml', content: '' }), env)).code, 2);
  assert.equal((await agentHook('gemini', gemini('mcp__supabase__execute_sql', { project_id: 'qwikkerprod123456789', query: 'drop schema public cascade' }), env)).code, 2);
});

test('malformed input denies for every agent', async () => {
  const common = ['not json', '', '[1]', '{}'];
  const specific = {
    'claude-code': ['{"tool_name":"Bash","tool_input":{}}', '{"tool_name":"Bash","tool_input":"{oops"}', '{"tool_name":"Write","tool_input":{}}', '{"tool_name":"mcp__s__t","tool_input":[1]}'],
    cursor: ['{"hook_event_name":"beforeShellExecution"}', '{"hook_event_name":"beforeMCPExecution","tool_input":"{}"}', '{"hook_event_name":"beforeMCPExecution","tool_name":"x","tool_input":"{oops"}', '{"hook_event_name":"somethingElse"}'],
    gemini: ['{"tool_name":"run_shell_command","tool_input":{}}', '{"tool_name":"run_shell_command","tool_input":"{oops"}', '{"tool_name":"write_file","tool_input":{}}'],
  };
  for (const agent of ['claude-code', 'cursor', 'gemini'] as const) {
    for (const input of [...common, ...specific[agent]]) {
      const r = await agentHook(agent, input, env);
      const denied = agent === 'claude-code' ? claudeDecision(r.stdout) === 'deny' : r.code === 2 && /deny/.test(r.stdout);
      assert.ok(denied, `${agent} did not deny ${input}: ${r.stdout}`);
    }
  }
});

test('install writes an absolute-path hook that denies when run from a shell whose PATH lacks node_modules/.bin (and prodguard)', () => {
  const p = project();
  try {
    for (const agent of ['claude-code', 'cursor', 'gemini'] as const) {
      const r = installAgent(agent, p);
      assert.equal(r.changed, true);
      assert.equal(installAgent(agent, p).changed, false, 'idempotent');
      assert.ok(r.command.includes(hookEntry()), r.command);
      const found = installedHookCommands(agent, p)!;
      assert.ok(found.commands.length >= 1);
      for (const c of found.commands) {
        // The agent's shell: no node_modules/.bin, no prodguard, not even node on PATH.
        const pr = probeHook(agent, c.event, c.command, p, { ...env, PATH: '/usr/bin:/bin' });
        assert.ok(pr.denies && pr.allows, `${agent} ${c.event}: ${pr.detail}`);
      }
    }
    const settings = JSON.parse(readFileSync(join(p, '.claude/settings.json'), 'utf8'));
    assert.equal(settings.hooks.PreToolUse[0].matcher, 'Bash|mcp__.*|Write|Edit|MultiEdit|NotebookEdit');
    const cursor = JSON.parse(readFileSync(join(p, '.cursor/hooks.json'), 'utf8'));
    assert.equal(cursor.version, 1);
    assert.deepEqual(Object.keys(cursor.hooks).sort(), ['beforeMCPExecution', 'beforeShellExecution', 'preToolUse']);
    assert.equal(cursor.hooks.beforeShellExecution[0].failClosed, true);
    const gem = JSON.parse(readFileSync(join(p, '.gemini/settings.json'), 'utf8'));
    assert.match(gem.hooks.BeforeTool[0].matcher, /run_shell_command/);
    // The command really runs the hook from /bin/sh with a bare PATH: a deny is printed.
    const out = spawnSync('/bin/sh', ['-c', settings.hooks.PreToolUse[0].hooks[0].command], { input: claude('Bash', { command: 'supabase db reset --linked' }).replace(dir, p), cwd: p, env: { ...env, PATH: '/usr/bin:/bin' }, encoding: 'utf8' });
    assert.equal(claudeDecision(out.stdout.trim()), 'deny', out.stderr);
  } finally {
    rmSync(p, { recursive: true, force: true });
  }
});

test('status fails rule 1 when the installed hook does not deny (the bare `prodguard hook claude-code` of the first wave), and is ok after install', async () => {
  const p = project();
  try {
    mkdirSync(join(p, '.claude'), { recursive: true });
    writeFileSync(join(p, '.claude/settings.json'), JSON.stringify({ hooks: { PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: 'prodguard hook claude-code' }] }] } }));
    const run = async () => {
      const ctx = openContext({ cwd: p });
      try {
        return await checks[0].run(ctx);
      } finally {
        await ctx.close();
      }
    };
    const savedPath = process.env.PATH;
    process.env.PATH = '/usr/bin:/bin';
    let bad;
    try {
      bad = await run();
    } finally {
      process.env.PATH = savedPath;
    }
    assert.equal(bad.state, 'failing');
    assert.match(bad.reason, /did NOT deny/);
    assert.match(bad.reason, /does not cover MCP/);
    installAgent('claude-code', p);
    const good = await run();
    assert.equal(good.state, 'ok', good.reason);
    assert.match(good.reason, /denies the probe and allows git status/);
  } finally {
    rmSync(p, { recursive: true, force: true });
  }
});

test('status fails rule 1 when a production connection string, a service-role key or a writable production MCP server is in the workspace', async () => {
  const { productionExposures } = await import('../../src/guard/exposure.js');
  const { loadConfig } = await import('../../src/config/load.js');
  const p = project();
  try {
    const loaded = loadConfig({ file: join(p, 'prodguard.yaml') });
    const home = { HOME: p };
    // The fixture keeps a production URL in .env.production (for the guard's target tests): found.
    assert.deepEqual(productionExposures(loaded, home), [{ where: '.env.production', what: 'a production connection string' }]);
    rmSync(join(p, '.env.production'));
    assert.deepEqual(productionExposures(loaded, home), []);
    writeFileSync(join(p, '.env.local'), 'DATABASE_URL=postgresql://postgres:pw@db.qwikkerprod123456789.supabase.co:5432/postgres\n');
    const jwt = (role: string) => `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify({ role, ref: 'qwikkerprod123456789' })).toString('base64url')}.c2ln`;
    writeFileSync(join(p, '.env'), `SUPABASE_ANON_KEY=${jwt('anon')}\nSUPABASE_SERVICE_ROLE_KEY=${jwt('service_role')}\n`);
    writeFileSync(join(p, '.mcp.json'), JSON.stringify({ mcpServers: { supabase: { command: 'npx', args: ['@supabase/mcp-server-supabase', '--project-ref=qwikkerprod123456789'] }, ro: { command: 'npx', args: ['@supabase/mcp-server-supabase', '--read-only', '--project-ref=qwikkerprod123456789'] } } }));
    const found = productionExposures(loaded, home).map((e) => `${e.where}: ${e.what}`);
    assert.deepEqual(found, ['.env: a Supabase service-role key', '.env.local: a production connection string', 'MCP server supabase (' + join(p, '.mcp.json') + '): write access to production (add --read-only)']);
    const ctx = openContext({ cwd: p });
    try {
      const r = await checks[1].run(ctx);
      assert.equal(r.state, 'failing');
      assert.match(r.reason, /gateway/);
    } finally {
      await ctx.close();
    }
  } finally {
    rmSync(p, { recursive: true, force: true });
  }
});
