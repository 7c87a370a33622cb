/**
 * Issue #13 item 5: the resident decision process (src/guard/daemon/). It must answer exactly as
 * the in-process hook does, never judge a project whose config changed since it started, and a
 * dead or unreachable daemon must leave the hook deciding in-process — still denying.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentHook } from '../../src/guard/hook.js';
import { ask, serverEntry, viaDaemon } from '../../src/guard/daemon/client.js';
import { decisionKey, privateDir, socketPath } from '../../src/guard/daemon/key.js';

const here = dirname(fileURLToPath(import.meta.url));
const REPO = join(here, '..', '..');
const TSX = join(REPO, 'node_modules/tsx/dist/loader.mjs');
const HOOK = join(REPO, 'src/guard/hook-main.ts');

// Our own runtime directory: the daemons of this file are found (and stopped) only here.
const runtime = mkdtempSync(join(tmpdir(), 'pg-rt-'));
chmodSync(runtime, 0o700);
const started: number[] = [];
after(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  rmSync(runtime, { recursive: true, force: true });
});

/** Every daemon of this file (started here, or by the hook: its pid file is in our runtime dir) stopped and gone. */
async function stopDaemons(): Promise<void> {
  const pids = new Set(started);
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.pid')) pids.add(Number(readFileSync(p, 'utf8')));
    }
  };
  try {
    walk(runtime);
  } catch {
    /* nothing started */
  }
  // Never 0 or negative: process.kill(0, …) would signal this runner's whole process group.
  const live = () => [...pids].filter((pid) => pid > 0 && alive(pid));
  for (const pid of live()) process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && live().length; i++) await new Promise((r) => setTimeout(r, 100));
}

function redteamProject(): { dir: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'prodguard-daemon-'));
  cpSync(join(here, 'redteam-fixture'), dir, { recursive: true });
  const env: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/nonexistent-home', XDG_RUNTIME_DIR: runtime };
  for (const line of readFileSync(join(dir, 'fixture.env'), 'utf8').split('\n')) {
    const m = /^export ([A-Z_]+)=(?:'([^']*)'|"([^"]*)")$/.exec(line.trim());
    if (m) env[m[1]] = m[2] ?? m[3].replace(/\$([A-Z_]+)/g, (_, k: string) => env[k] ?? '');
  }
  return { dir, env };
}

/** Starts the daemon for `cwd` as the hook would (same node flags), waits until it listens; returns its socket and pid. */
async function startDaemon(cwd: string, env: Record<string, string>): Promise<{ sock: string; key: string; pid: number }> {
  const dir = privateDir(true, env)!;
  const key = decisionKey(cwd);
  const sock = socketPath(dir, key);
  const child = spawn(process.execPath, ['--import', TSX, serverEntry(), key, cwd], { cwd, env: { ...env, PRODGUARD_GUARD_DAEMON_IDLE_MS: '120000' }, stdio: 'ignore', detached: true });
  child.unref();
  started.push(child.pid!);
  const pidFile = sock.replace(/\.sock$/, '.pid');
  const pidOf = () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0);
  for (let i = 0; i < 600 && !(pidOf() > 0); i++) await new Promise((r) => setTimeout(r, 100));
  const pid = pidOf();
  // Never 0 or negative: process.kill(0, …) would signal this test runner's whole process group.
  assert.ok(Number.isInteger(pid) && pid > 0, `the daemon came up within 60 s (pid file: ${pid})`);
  return { sock, key, pid };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const claudeBash = (cwd: string, command: string) => JSON.stringify({ session_id: 's', hook_event_name: 'PreToolUse', cwd, tool_name: 'Bash', tool_input: { command } });

test('the daemon decides every red-team corpus case exactly as the in-process hook does', async () => {
  const { dir, env } = redteamProject();
  try {
    const d = await startDaemon(dir, env);
    interface Case { id: string; input: { kind: 'shell'; command: string } | { kind: 'hook'; payload: Record<string, unknown> }; env: Record<string, string> }
    const cases = readFileSync(join(here, 'corpus', 'redteam.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Case);
    assert.ok(cases.length > 900);
    let answered = 0;
    let denied = 0;
    let unreadable = 0;
    for (const c of cases) {
      const e = { ...env, ...c.env };
      const stdin = c.input.kind === 'shell'
        ? claudeBash(dir, c.input.command)
        : JSON.stringify({ session_id: 'rt', ...c.input.payload, cwd: c.input.payload.cwd === 'fixture' || c.input.payload.cwd === undefined ? dir : String(c.input.payload.cwd).replace('/work/redteam/guard/fixture', dir) });
      const local = await agentHook('claude-code', stdin, e, { fallbackCwd: dir });
      const remote = await ask(d.sock, { v: 1, key: d.key, agent: 'claude-code', stdin, env: e, cwd: dir }, 20_000);
      const cwd = (JSON.parse(stdin) as { cwd?: string }).cwd ?? dir;
      if (remote === null) {
        // Only a call about another project (another config, so another key) is turned down.
        assert.notEqual(decisionKey(cwd), d.key, `${c.id}: the daemon gave no answer for its own project`);
        continue;
      }
      answered++;
      if (local.stdout) denied++;
      if (/could not read the hook input/.test(local.stdout)) unreadable++;
      assert.deepEqual(remote, { stdout: local.stdout, stderr: local.stderr, code: local.code }, c.id);
    }
    assert.ok(answered > 950, `the daemon answered ${answered} cases`);
    assert.ok(denied > 400, `${denied} of them denied`);
    // Every answer left its audit record (the daemon writes it before answering).
    const audit = readFileSync(join(dir, '.prodguard/audit.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { action: string; verdict: string });
    assert.equal(audit.filter((r) => r.action === 'guard.hook' && r.verdict !== 'allow').length, denied - unreadable, 'one audit record per refusal');
  } finally {
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
});

test('the installed hook answers through a warm daemon exactly as in-process, for all three agents, and audits the refusal', async () => {
  const { dir, env } = redteamProject();
  try {
    await startDaemon(dir, env);
    const payloads: Array<[string, string]> = [
      ['claude-code', claudeBash(dir, 'supabase db reset --linked')],
      ['claude-code', claudeBash(dir, 'npm test')],
      ['claude-code', claudeBash(dir, 'git status')],
      ['claude-code', JSON.stringify({ hook_event_name: 'PreToolUse', cwd: dir, tool_name: 'Write', tool_input: { file_path: 'prodguard.yaml', content: 'x' } })],
      ['claude-code', '{not json'],
      ['cursor', JSON.stringify({ hook_event_name: 'beforeShellExecution', workspace_roots: [dir], cwd: dir, command: `psql "$PRODUCTION_DATABASE_URL" -c 'drop table orders'` })],
      ['cursor', JSON.stringify({ hook_event_name: 'beforeShellExecution', workspace_roots: [dir], cwd: dir, command: 'ls -la' })],
      ['gemini', JSON.stringify({ hook_event_name: 'BeforeTool', cwd: dir, tool_name: 'run_shell_command', tool_input: { command: 'supabase db reset --linked' } })],
      ['gemini', JSON.stringify({ hook_event_name: 'BeforeTool', cwd: dir, tool_name: 'run_shell_command', tool_input: { command: 'npm run build' } })],
    ];
    for (const [agent, input] of payloads) {
      const run = (extra: Record<string, string>) => spawnSync(process.execPath, ['--import', TSX, HOOK, agent], { input, env: { ...env, ...extra }, cwd: dir, encoding: 'utf8' });
      const auditText = () => (existsSync(join(dir, '.prodguard/audit.jsonl')) ? readFileSync(join(dir, '.prodguard/audit.jsonl'), 'utf8') : '');
      const before = auditText().length;
      const viaDaemonRun = run({});
      const inProcess = run({ PRODGUARD_GUARD_DAEMON: 'off' });
      assert.equal(viaDaemonRun.stdout, inProcess.stdout, `${agent} ${input}`);
      assert.equal(viaDaemonRun.status, inProcess.status, `${agent} ${input}`);
      assert.equal(viaDaemonRun.stderr, inProcess.stderr, `${agent} ${input}`);
      if (/deny/.test(inProcess.stdout) && !/not json/.test(input)) {
        const added = auditText().slice(before).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { verdict: string });
        assert.equal(added.filter((r) => r.verdict === 'deny').length, 2, `both paths audited the refusal: ${input}`);
      }
    }
    // The daemon really answered: it answers a direct request for this project.
    assert.ok(await viaDaemon('claude-code', claudeBash(dir, 'npm test'), env, dir, { start: false }));
  } finally {
    // The daemons still hold this project's state database open: stop them — those this file
    // started and those the hook started itself — and wait until they are gone before removing it
    // (CI saw ENOTEMPTY when one wrote into .prodguard/ during the removal, twice).
    await stopDaemons();
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
});

test('a daemon started under an older config is never asked, and leaves; the new config decides', async () => {
  const { dir, env } = redteamProject();
  try {
    const d = await startDaemon(dir, env);
    const cmd = './scripts/tidy.sh';
    writeFileSync(join(dir, 'scripts/tidy.sh'), '#!/bin/sh\necho tidy\n', { mode: 0o755 });
    assert.ok(await viaDaemon('claude-code', claudeBash(dir, cmd), env, dir, { start: false }), 'the daemon answers before the change');
    // A new custom rule refuses the script: only a daemon with the new config may judge.
    const yaml = readFileSync(join(dir, 'prodguard.yaml'), 'utf8');
    assert.ok(!/^guard:/m.test(yaml), 'fixture has no guard section');
    appendFileSync(join(dir, 'prodguard.yaml'), '\nguard:\n  rules:\n    - id: no-tidy\n      match: "./scripts/tidy.sh"\n      decision: deny\n      reason: "tidy wipes the shared data"\n');
    assert.notEqual(decisionKey(dir), d.key);
    assert.equal(await viaDaemon('claude-code', claudeBash(dir, cmd), env, dir, { start: false }), null, 'no daemon holds the new key');
    // Asked directly on its old socket with the new key, the old daemon refuses to judge…
    assert.equal(await ask(d.sock, { v: 1, key: decisionKey(dir), agent: 'claude-code', stdin: claudeBash(dir, cmd), env, cwd: dir }, 10_000), null);
    // …and with its own key it sees that the project's config is no longer its own.
    assert.equal(await ask(d.sock, { v: 1, key: d.key, agent: 'claude-code', stdin: claudeBash(dir, cmd), env, cwd: dir }, 10_000), null);
    for (let i = 0; i < 100 && alive(d.pid); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(!alive(d.pid), 'the stale daemon exited');
    const r = spawnSync(process.execPath, ['--import', TSX, HOOK, 'claude-code'], { input: claudeBash(dir, cmd), env, cwd: dir, encoding: 'utf8' });
    assert.match(r.stdout, /"permissionDecision":"deny".*tidy wipes the shared data/);
  } finally {
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
});

test('a killed daemon, or a socket directory others can write, leaves the hook deciding in-process: it still denies', async () => {
  const { dir, env } = redteamProject();
  try {
    const d = await startDaemon(dir, env);
    process.kill(d.pid, 'SIGKILL');
    for (let i = 0; i < 50 && alive(d.pid); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(existsSync(d.sock), 'the dead daemon left its socket file behind');
    const hook = (input: string, extra: Record<string, string> = {}) => spawnSync(process.execPath, ['--import', TSX, HOOK, 'claude-code'], { input, env: { ...env, PRODGUARD_GUARD_DAEMON_IDLE_MS: '20000', ...extra }, cwd: dir, encoding: 'utf8' });
    const r = hook(claudeBash(dir, 'supabase db reset --linked'));
    assert.equal(r.status, 0);
    assert.match(r.stdout, /"permissionDecision":"deny"/);
    assert.equal(hook(claudeBash(dir, 'npm test')).stdout, '');
    // A runtime directory open to others is not used at all (someone else could have put the socket there).
    const open = mkdtempSync(join(tmpdir(), 'pg-rt-open-'));
    try {
      chmodSync(open, 0o777);
      mkdirSync(join(open, 'prodguard'), { mode: 0o777 });
      chmodSync(join(open, 'prodguard'), 0o777);
      assert.equal(privateDir(true, { XDG_RUNTIME_DIR: open }), null);
      const r2 = hook(claudeBash(dir, 'supabase db reset --linked'), { XDG_RUNTIME_DIR: open });
      assert.match(r2.stdout, /"permissionDecision":"deny"/);
    } finally {
      rmSync(open, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
});
