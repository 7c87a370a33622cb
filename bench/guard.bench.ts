/**
 * Latency of `prodguard hook claude-code` per call (a spawned process fed a realistic PreToolUse
 * payload, exactly as Claude Code runs it) versus `node -e 0` in the same run. Runs the compiled
 * CLI in dist/ (what users run); builds it first with tsc.
 */
import { spawnSync, execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './run.js';
import { fixtureEnv } from '../test/guard/env.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');

function payload(command: string, cwd: string): string {
  return JSON.stringify({ session_id: 's', transcript_path: '/tmp/t.jsonl', cwd, permission_mode: 'default', hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command, description: 'x' }, tool_use_id: 't' });
}

function timeRuns(args: string[], input: string, env: Record<string, string>, n: number): { median: number; p90: number } {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { input, env, encoding: 'utf8' });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(n / 2)], p90: times[Math.floor(n * 0.9)] };
}

export async function run(): Promise<BenchResult> {
  // The bin users run: compiled JavaScript. tsc emits even when another layer has type errors.
  spawnSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', join(repo, 'tsconfig.json')], { stdio: 'ignore' });
  const bin = join(repo, 'dist/cli/main.js');
  execFileSync(process.execPath, [bin, '--version']);
  const dir = mkdtempSync(join(tmpdir(), 'prodguard-bench-guard-'));
  cpSync(join(repo, 'test/guard/fixture'), dir, { recursive: true });
  const env = { ...fixtureEnv, PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const n = 15;
  try {
    const cases: Array<[string, string]> = [
      ['plain command (git status)', 'git status'],
      ['npm script (npm test)', 'npm test'],
      ['supabase db reset --linked (denied)', 'supabase db reset --linked'],
      ["psql … -c 'select …' (SQL classified)", `psql "$PRODUCTION_DATABASE_URL" -c 'select count(*) from businesses'`],
    ];
    // Warm the file cache.
    timeRuns(['-e', '0'], '', env, 3);
    timeRuns([bin, 'hook', 'claude-code'], payload('git status', dir), env, 2);
    const base = timeRuns(['-e', '0'], '', env, n);
    const rows: BenchResult['rows'] = [{ subject: 'node -e 0 (baseline process start)', value: Math.round(base.median), unit: 'ms median', note: `p90 ${Math.round(base.p90)} ms, ${n} runs` }];
    let worstCommon = 0;
    for (const [label, cmd] of cases) {
      const t = timeRuns([bin, 'hook', 'claude-code'], payload(cmd, dir), env, n);
      const ratio = t.median / base.median;
      if (label.startsWith('plain') || label.startsWith('npm')) worstCommon = Math.max(worstCommon, ratio);
      rows.push({ subject: `prodguard hook claude-code: ${label}`, value: Math.round(t.median), unit: 'ms median', note: `${ratio.toFixed(2)}× node -e 0; p90 ${Math.round(t.p90)} ms` });
    }
    // The dedicated entry (no commander, no other command groups): what the hook costs without the CLI.
    const fast = join(repo, 'dist/guard/hook-main.js');
    for (const [label, cmd] of [cases[0], cases[2]]) {
      const t = timeRuns([fast, ''].slice(0, 1), payload(cmd, dir), env, n);
      rows.push({ subject: `dist/guard/hook-main.js: ${label}`, value: Math.round(t.median), unit: 'ms median', note: `${(t.median / base.median).toFixed(2)}× node -e 0; p90 ${Math.round(t.p90)} ms` });
    }
    const bare = mkdtempSync(join(tmpdir(), 'prodguard-bench-bare-'));
    const tb = timeRuns([fast], payload('git status', bare), env, n);
    rmSync(bare, { recursive: true, force: true });
    rows.push({ subject: 'dist/guard/hook-main.js: git status, project without prodguard.yaml (no config, no audit)', value: Math.round(tb.median), unit: 'ms median', note: `${(tb.median / base.median).toFixed(2)}× node -e 0; p90 ${Math.round(tb.p90)} ms` });
    return {
      name: 'guard',
      title: 'Claude Code hook latency per call vs node -e 0',
      goal: '≤ 2× node -e 0 per hook call (for commands that do not need the shell or SQL parser)',
      met: worstCommon <= 2,
      setup: `dist/cli/main.js spawned per call with a real PreToolUse payload in a copy of test/guard/fixture (prodguard.yaml, audit log on); ${n} runs each, medians. The shell parser (tree-sitter wasm) loads only for commands that need it; SQL classification loads libpg-query only for psql and friends.`,
      rows,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
