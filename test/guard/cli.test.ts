import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { runCli } from '../helpers/cli.js';
import { fixtureEnv } from './env.js';

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'prodguard-guard-cli-'));
cpSync(join(here, 'fixture'), dir, { recursive: true });
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const env = { ...fixtureEnv, PATH: process.env.PATH ?? '/usr/bin:/bin' };

function preToolUse(command: string, cwd = dir, tool = 'Bash'): string {
  return JSON.stringify({
    session_id: 'abc123',
    transcript_path: '/tmp/transcript.jsonl',
    cwd,
    permission_mode: 'default',
    hook_event_name: 'PreToolUse',
    tool_name: tool,
    tool_input: { command, description: 'Reset the database' },
    tool_use_id: 'toolu_01',
  });
}

test('the Claude Code hook denies supabase db reset --linked with the deny JSON, and audits it', async () => {
  const r = await runCli(['hook', 'claude-code'], { cwd: dir, env, input: preToolUse('supabase db reset --linked') });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.hookSpecificOutput.hookEventName, 'PreToolUse');
  assert.equal(out.hookSpecificOutput.permissionDecision, 'deny');
  assert.match(out.hookSpecificOutput.permissionDecisionReason, /qwikker-prod \(production\)/);
  const audit = readFileSync(join(dir, '.prodguard/audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const last = audit[audit.length - 1];
  assert.equal(last.action, 'guard.hook');
  assert.equal(last.verdict, 'deny');
  assert.equal(last.command, 'supabase db reset --linked');
});

test('the hook tells the agent to use prodguard guard for backup-first commands', async () => {
  const r = await runCli(['hook', 'claude-code'], { cwd: dir, env, input: preToolUse(`psql "$STAGING_DATABASE_URL" -c 'drop table x'`) });
  const out = JSON.parse(r.stdout);
  assert.equal(out.hookSpecificOutput.permissionDecision, 'deny');
  assert.match(out.hookSpecificOutput.permissionDecisionReason, /prodguard guard -- psql/);
});

test('the hook prints nothing for allowed commands and for other tools', async () => {
  const a = await runCli(['hook', 'claude-code'], { cwd: dir, env, input: preToolUse(`psql "$PRODUCTION_DATABASE_URL" -c 'select count(*) from businesses'`) });
  assert.equal(a.code, 0);
  assert.equal(a.stdout, '');
  const b = await runCli(['hook', 'claude-code'], { cwd: dir, env, input: preToolUse('rm -rf /', dir, 'Read') });
  assert.equal(b.stdout, '');
});

test('the hook denies on malformed input instead of failing open', async () => {
  for (const input of ['not json', '', '{"tool_name":"Bash","tool_input":{}}', '[1,2]']) {
    const r = await runCli(['hook', 'claude-code'], { cwd: dir, env, input });
    assert.equal(r.code, 0, input);
    assert.equal(JSON.parse(r.stdout).hookSpecificOutput.permissionDecision, 'deny', input);
  }
});

test('check exits 0 / 1 / 3 and --json carries the decision', async () => {
  assert.equal((await runCli(['check', 'git status'], { cwd: dir, env })).code, 0);
  const deny = await runCli(['check', '--json', 'FOO=1 sh -c "supabase db reset --linked"'], { cwd: dir, env });
  assert.equal(deny.code, 1);
  assert.equal(JSON.parse(deny.stdout).ruleId, 'supabase-db-reset');
  assert.equal((await runCli(['check', `psql "$STAGING_DATABASE_URL" -c 'truncate t'`], { cwd: dir, env })).code, 3);
  const ex = await runCli(['check', '--explain', 'sudo npm run db:reset'], { cwd: dir, env });
  assert.match(ex.stdout, /parse tree:/);
  assert.match(ex.stdout, /package.json script "db:reset"|npm script "db:reset"/);
});

test('guard -- does not run a denied command', async () => {
  const marker = join(dir, 'marker-denied');
  // The command is destructive against production AND would create the marker.
  const r = await runCli(['guard', '--', 'sh', '-c', `touch ${marker}; supabase db reset --linked`], { cwd: dir, env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /refused/);
  assert.equal(existsSync(marker), false);
});

test('guard -- runs an allowed command and passes its exit code through', async () => {
  const marker = join(dir, 'marker-allowed');
  const r = await runCli(['guard', '--', 'sh', '-c', `touch ${marker}; exit 7`], { cwd: dir, env });
  assert.equal(r.code, 7);
  assert.equal(existsSync(marker), true);
});

test('install claude-code merges the hook without clobbering settings, and is idempotent', async () => {
  const p = mkdtempSync(join(tmpdir(), 'prodguard-install-'));
  mkdirSync(join(p, '.claude'));
  const before = { model: 'opus', permissions: { allow: ['Bash(npm test)'] }, hooks: { PreToolUse: [{ matcher: 'Edit', hooks: [{ type: 'command', command: 'lint-on-edit' }] }], Stop: [{ hooks: [{ type: 'command', command: 'say done' }] }] } };
  writeFileSync(join(p, '.claude/settings.json'), JSON.stringify(before));
  for (let i = 0; i < 2; i++) assert.equal((await runCli(['install', 'claude-code', '--dir', p], { env })).code, 0);
  const after = JSON.parse(readFileSync(join(p, '.claude/settings.json'), 'utf8'));
  assert.equal(after.model, 'opus');
  assert.deepEqual(after.permissions, before.permissions);
  assert.deepEqual(after.hooks.Stop, before.hooks.Stop);
  assert.equal(after.hooks.PreToolUse.length, 2);
  assert.deepEqual(after.hooks.PreToolUse[0], before.hooks.PreToolUse[0]);
  // Issue #13: the matcher covers the shell, MCP and file-writing tools, and the command resolves
  // without PATH (a bare `prodguard` exits 127 in the agent's shell, which fails open).
  assert.equal(after.hooks.PreToolUse[1].matcher, 'Bash|mcp__.*|Write|Edit|MultiEdit|NotebookEdit');
  assert.match(after.hooks.PreToolUse[1].hooks[0].command, /^'?\/\S+node'? '?\/\S+\/dist\/guard\/hook-main\.js'? claude-code \|\| exit 2$/);
  writeFileSync(join(p, '.claude/settings.json'), '{ broken');
  const bad = await runCli(['install', 'claude-code', '--dir', p], { env });
  assert.equal(bad.code, 2);
  assert.equal(readFileSync(join(p, '.claude/settings.json'), 'utf8'), '{ broken');
  rmSync(p, { recursive: true, force: true });
});

test('install shell writes executable shims that route the tool through prodguard guard', async () => {
  const p = mkdtempSync(join(tmpdir(), 'prodguard-shims-'));
  const r = await runCli(['install', 'shell', '--dir', p, '--prodguard', '/opt/prodguard'], { env });
  assert.equal(r.code, 0, r.stderr);
  const shim = join(p, '.prodguard/shims/supabase');
  assert.ok(statSync(shim).mode & 0o100);
  assert.match(readFileSync(shim, 'utf8'), /exec \/opt\/prodguard guard -- "\$real" "\$@"/);
  assert.match(r.stdout, /PATH_add \.prodguard\/shims/);
  rmSync(p, { recursive: true, force: true });
});

test('install git-hooks writes a pre-push hook that lints changed migrations', async () => {
  const p = mkdtempSync(join(tmpdir(), 'prodguard-git-'));
  execFileSync('git', ['init', '-q', p]);
  const r = await runCli(['install', 'git-hooks', '--dir', p], { env });
  assert.equal(r.code, 0, r.stderr);
  const hook = readFileSync(join(p, '.git/hooks/pre-push'), 'utf8');
  assert.match(hook, /prodguard lint \$files/);
  assert.equal((await runCli(['install', 'git-hooks', '--dir', p], { env })).code, 0);
  rmSync(p, { recursive: true, force: true });
});

test('rules --json lists every rule with examples', async () => {
  const r = await runCli(['rules', '--json'], { env });
  const rules = JSON.parse(r.stdout) as Array<{ id: string; examples: { deny: string[] } }>;
  assert.ok(rules.some((x) => x.id === 'supabase'));
  assert.ok(rules.every((x) => x.examples.deny.length > 0));
});

test('the lean hook entry (src/guard/hook-main.ts) answers like the CLI hook and denies bad input', async () => {
  const { spawnSync } = await import('node:child_process');
  const { TSX, REPO } = await import('../helpers/cli.js');
  const run = (input: string) => spawnSync(process.execPath, ['--import', TSX, join(REPO, 'src/guard/hook-main.ts')], { input, env, encoding: 'utf8', cwd: dir });
  const denied = run(preToolUse('sudo bash -c "supabase db reset --linked"'));
  assert.equal(denied.status, 0, denied.stderr);
  assert.equal(JSON.parse(denied.stdout).hookSpecificOutput.permissionDecision, 'deny');
  assert.equal(run(preToolUse('git status')).stdout, '');
  assert.equal(JSON.parse(run('{oops').stdout).hookSpecificOutput.permissionDecision, 'deny');
});

test('docs/guard.md documents every rule with its explanation', async () => {
  const { guardRules } = await import('../../src/guard/rules/index.js');
  const { REPO } = await import('../helpers/cli.js');
  const doc = readFileSync(join(REPO, 'docs/guard.md'), 'utf8');
  for (const r of guardRules) {
    assert.ok(doc.includes(`### \`${r.id}\``), `docs/guard.md lacks rule ${r.id}`);
    assert.ok(doc.includes(r.explanation), `docs/guard.md has a stale explanation for ${r.id}`);
  }
});
