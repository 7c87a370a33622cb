/**
 * Issue #10: `prodguard hook <agent>` (the CLI) and the installed hook (src/guard/hook-main.ts)
 * go through one decision entry (src/guard/hook-entry.ts), so they cannot diverge. Both doors are
 * run as real processes on the same inputs — allow, deny, ask, backup-first, unreadable — first
 * with the resident decision process switched off, then through a warm one: every answer (stdout,
 * stderr, exit code) is the same, and is the expected decision.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, TSX } from '../helpers/cli.js';
import { viaDaemon } from '../../src/guard/daemon/client.js';
import { decisionKey, privateDir, socketPath } from '../../src/guard/daemon/key.js';
import { fixtureEnv } from './env.js';

const here = dirname(fileURLToPath(import.meta.url));
const HOOK = join(here, '..', '..', 'src/guard/hook-main.ts');

// Our own runtime directory: the daemon of this file lives (and is stopped) only here.
const runtime = mkdtempSync(join(tmpdir(), 'pg-rt-entry-'));
chmodSync(runtime, 0o700);
const dir = mkdtempSync(join(tmpdir(), 'prodguard-hook-entry-'));
cpSync(join(here, 'fixture'), dir, { recursive: true });
writeFileSync(join(dir, 'supabase/.temp/project-ref'), 'qwikkerprod123456789\n');
writeFileSync(join(dir, '.mcp.json'), JSON.stringify({ mcpServers: { supa: { command: 'npx', args: ['-y', '@supabase/mcp-server-supabase@latest', '--project-ref=qwikkerprod123456789'] } } }));
after(() => {
  const sockDir = privateDir(false, { XDG_RUNTIME_DIR: runtime });
  for (const f of sockDir && existsSync(sockDir) ? readdirSync(sockDir).filter((n) => n.endsWith('.pid')) : []) {
    try {
      const pid = Number(readFileSync(join(sockDir!, f), 'utf8'));
      if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGTERM'); // never 0: that is this runner's process group
    } catch {
      /* already gone */
    }
  }
  rmSync(runtime, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

const env: Record<string, string> = { ...fixtureEnv, XDG_RUNTIME_DIR: runtime, PRODGUARD_GUARD_DAEMON_IDLE_MS: '60000' };

function run(entry: string[], input: string, extra: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, ...entry], { cwd: dir, env: { ...env, ...extra }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

const claude = (tool: string, input: unknown) => JSON.stringify({ hook_event_name: 'PreToolUse', cwd: dir, tool_name: tool, tool_input: input });
const claudeBash = (command: string) => claude('Bash', { command });
const decisionOf = (stdout: string) => (stdout.trim() ? (JSON.parse(stdout) as { hookSpecificOutput?: { permissionDecision: string }; permission?: string; decision?: string }) : null);
const claudeDecision = (stdout: string) => decisionOf(stdout)?.hookSpecificOutput?.permissionDecision ?? 'allow';

// [agent, stdin, what the decision must be, a check of that decision on the answer]
const CASES: Array<[string, string, string, (a: { stdout: string; code: number | null }) => boolean]> = [
  ['claude-code', claudeBash('git status'), 'allow (fast path)', (a) => a.stdout === '' && a.code === 0],
  ['claude-code', claudeBash('npm test'), 'allow (decided)', (a) => a.stdout === '' && a.code === 0],
  ['claude-code', claudeBash('supabase db reset --linked'), 'deny', (a) => claudeDecision(a.stdout) === 'deny' && /qwikker-prod \(production\)/.test(a.stdout)],
  ['claude-code', claude('mcp__supa__deploy_edge_function', { name: 'x' }), 'ask', (a) => claudeDecision(a.stdout) === 'ask'],
  ['claude-code', claudeBash(`psql "$STAGING_DATABASE_URL" -c 'drop table x'`), 'backup-first (a deny naming prodguard guard)', (a) => claudeDecision(a.stdout) === 'deny' && /prodguard guard -- psql/.test(a.stdout)],
  ['claude-code', '{not json', 'deny (unreadable)', (a) => claudeDecision(a.stdout) === 'deny'],
  ['cursor', JSON.stringify({ hook_event_name: 'beforeShellExecution', workspace_roots: [dir], cwd: dir, command: 'supabase db reset --linked' }), 'deny', (a) => decisionOf(a.stdout)?.permission === 'deny' && a.code === 2],
  ['gemini', JSON.stringify({ hook_event_name: 'BeforeTool', cwd: dir, tool_name: 'run_shell_command', tool_input: { command: 'npm run build' } }), 'allow', (a) => a.code === 0 && !/deny/.test(a.stdout)],
];

async function bothDoorsAgree(extra: Record<string, string>, mode: string): Promise<void> {
  for (const [agent, input, expected, isExpected] of CASES) {
    const cli = await run([CLI, 'hook', agent], input, extra);
    const installed = await run([HOOK, agent], input, extra);
    const what = `${mode}: ${agent} ${input} (${expected})`;
    assert.ok(isExpected(installed), `${what}: the installed hook answered ${JSON.stringify(installed)}`);
    assert.deepEqual(cli, installed, `${what}: the CLI answered differently`);
  }
}

test('prodguard hook and the installed hook answer identically in-process (allow, deny, ask, backup-first, unreadable)', async () => {
  await bothDoorsAgree({ PRODGUARD_GUARD_DAEMON: 'off' }, 'in-process');
});

test('…and identically through a warm resident decision process, which both doors use', async () => {
  // The first call with the daemon allowed starts it in the background; wait until it listens.
  await run([CLI, 'hook', 'claude-code'], claudeBash('npm test'), {});
  const pidFile = socketPath(privateDir(true, env)!, decisionKey(dir)).replace(/\.sock$/, '.pid');
  for (let i = 0; i < 600 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(existsSync(pidFile), 'the CLI door started the resident decision process');
  assert.ok(await viaDaemon('claude-code', claudeBash('npm test'), env, dir, { start: false }), 'it answers for this project');
  await bothDoorsAgree({}, 'daemon');
});
