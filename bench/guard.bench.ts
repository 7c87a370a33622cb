/**
 * Latency of one agent hook call — the installed command, `node dist/guard/hook-main.js
 * claude-code`, spawned and fed a realistic PreToolUse payload exactly as Claude Code runs it —
 * versus `node -e 0` in the same run. Three ways a call can be decided:
 *  - warm: the resident decision process for this project and config is up (the usual case);
 *  - in-process: PRODGUARD_GUARD_DAEMON=off (also what a call pays when the daemon is unusable);
 *  - cold: no daemon yet (a fresh runtime directory per call): decided in-process, and a daemon is
 *    started in the background for the next call.
 * The runs are interleaved (baseline, then each case, round after round) so the load of a shared
 * machine falls on all of them alike; medians. Runs the compiled dist/ (what users run).
 */
import { spawnSync, execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './run.js';
import { fixtureEnv } from '../test/guard/env.js';
import { quick } from './quick.js';

/** `npm run bench -- --quick` runs this bench at small sizes (bench/quick.ts). */
export const quickSupported = true;

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');

function payload(command: string, cwd: string): string {
  return JSON.stringify({ session_id: 's', transcript_path: '/tmp/t.jsonl', cwd, permission_mode: 'default', hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command, description: 'x' }, tool_use_id: 't' });
}

/** CPU time (user + system, ms) of a process from /proc/<pid>/stat: its own, or that of its waited-for children. */
function cpuMs(pid: number | 'self', children = false): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    // fields[11..14] = utime stime cutime cstime (clock ticks, 100 per second on Linux)
    return (children ? Number(fields[13]) + Number(fields[14]) : Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** CPU the hook processes used (their waited-for time, counted on this process), per case. */
const childCpu = new Map<string, number>();

function once(args: string[], input: string, env: Record<string, string>, expectDeny: boolean | null, cpuKey?: string): number {
  const c0 = cpuMs('self', true);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { input, env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (cpuKey) childCpu.set(cpuKey, (childCpu.get(cpuKey) ?? 0) + cpuMs('self', true) - c0);
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  if (expectDeny !== null && /"deny"/.test(r.stdout) !== expectDeny) throw new Error(`${args.join(' ')}: expected ${expectDeny ? 'deny' : 'allow'}, got ${r.stdout || 'allow'}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

async function waitFor(path: string, ms: number): Promise<boolean> {
  for (let t = 0; t < ms && !existsSync(path); t += 50) await new Promise((r) => setTimeout(r, 50));
  return existsSync(path);
}

/** Stops the daemons this run started, by the ids in their pid files. */
function stopDaemons(runtime: string): void {
  const dir = join(runtime, 'prodguard');
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.pid'))) {
    try {
      process.kill(Number(readFileSync(join(dir, f), 'utf8')), 'SIGTERM');
    } catch {
      /* gone */
    }
  }
}

export async function run(): Promise<BenchResult> {
  // The bin users run: compiled JavaScript. tsc emits even when another layer has type errors.
  spawnSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', join(repo, 'tsconfig.json')], { stdio: 'ignore' });
  const hook = join(repo, 'dist/guard/hook-main.js');
  execFileSync(process.execPath, [join(repo, 'dist/cli/main.js'), '--version']);
  const dir = mkdtempSync(join(tmpdir(), 'prodguard-bench-guard-'));
  cpSync(join(repo, 'test/guard/fixture'), dir, { recursive: true });
  const runtime = mkdtempSync(join(tmpdir(), 'pg-bench-rt-'));
  chmodSync(runtime, 0o700);
  const colds: string[] = [];
  const env = { ...fixtureEnv, PATH: process.env.PATH ?? '/usr/bin:/bin', XDG_RUNTIME_DIR: runtime };
  const off = { ...env, PRODGUARD_GUARD_DAEMON: 'off' };
  const n = quick ? 5 : 21;
  const load0 = loadavg()[0];
  try {
    const cases: Array<{ label: string; cmd: string; deny: boolean }> = [
      { label: 'git status (allowed, no parse needed)', cmd: 'git status', deny: false },
      { label: 'npm test (allowed: package.json script parsed)', cmd: 'npm test', deny: false },
      { label: "psql \"$PRODUCTION_DATABASE_URL\" -c 'select …' (allowed: SQL classified)", cmd: `psql "$PRODUCTION_DATABASE_URL" -c 'select count(*) from businesses'`, deny: false },
      { label: 'supabase db reset --linked (denied, audited)', cmd: 'supabase db reset --linked', deny: true },
      { label: "psql \"$PRODUCTION_DATABASE_URL\" -c 'drop table …' (denied, audited)", cmd: `psql "$PRODUCTION_DATABASE_URL" -c 'drop table businesses'`, deny: true },
    ];
    // Start the daemon the way the hook does (the first call starts it) and wait until it listens.
    once([hook, 'claude-code'], payload('npm test', dir), env, false);
    if (!(await waitFor(join(runtime, 'prodguard'), 5_000))) throw new Error('no runtime directory');
    const pidFile = () => readdirSync(join(runtime, 'prodguard')).find((f) => f.endsWith('.pid'));
    for (let t = 0; t < 60_000 && !pidFile(); t += 100) await new Promise((r) => setTimeout(r, 100));
    if (!pidFile()) throw new Error('the decision daemon did not start within 60 s');
    // Warm the file cache.
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      once(['-e', '0'], '', env, null);
      for (const c of cases) once([hook, 'claude-code'], payload(c.cmd, dir), env, c.deny);
    }
    const base: number[] = [];
    const warm = cases.map(() => [] as number[]);
    const inproc = cases.map(() => [] as number[]);
    // CPU per call, which the load of a shared machine distorts far less than wall time: the hook
    // process's own, plus the daemon's share (its CPU over the warm runs of each case).
    const daemonPid = Number(readFileSync(join(runtime, 'prodguard', pidFile()!), 'utf8'));
    const daemonCpu = cases.map(() => 0);
    for (let i = 0; i < n; i++) {
      base.push(once(['-e', '0'], '', env, null, 'base'));
      cases.forEach((c, j) => {
        const d0 = cpuMs(daemonPid);
        warm[j].push(once([hook, 'claude-code'], payload(c.cmd, dir), env, c.deny, `warm${j}`));
        daemonCpu[j] += cpuMs(daemonPid) - d0;
      });
      if (i < (quick ? 1 : 5)) cases.forEach((c, j) => inproc[j].push(once([hook, 'claude-code'], payload(c.cmd, dir), off, c.deny)));
    }
    // Cold: a runtime directory with no daemon each time; the daemon the call starts is stopped after it is up.
    const cold = { allow: [] as number[], deny: [] as number[] };
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      for (const [k, c] of [['allow', cases[1]], ['deny', cases[3]]] as const) {
        const rt = mkdtempSync(join(tmpdir(), 'pg-bench-cold-'));
        chmodSync(rt, 0o700);
        colds.push(rt);
        cold[k].push(once([hook, 'claude-code'], payload(c.cmd, dir), { ...env, XDG_RUNTIME_DIR: rt }, c.deny));
        for (let t = 0; t < 60_000 && !(existsSync(join(rt, 'prodguard')) && readdirSync(join(rt, 'prodguard')).some((f) => f.endsWith('.pid'))); t += 100) await new Promise((r) => setTimeout(r, 100));
        stopDaemons(rt);
      }
    }
    const b = median(base);
    const ratio = (xs: number[]) => median(xs) / b;
    const rows: BenchResult['rows'] = [{ subject: 'node -e 0 (baseline process start)', value: Math.round(b), unit: 'ms median', note: `p90 ${Math.round(p90(base))} ms, ${n} runs` }];
    cases.forEach((c, j) => rows.push({ subject: `hook, warm daemon: ${c.label}`, value: Math.round(median(warm[j])), unit: 'ms median', note: `${ratio(warm[j]).toFixed(2)}× node -e 0; p90 ${Math.round(p90(warm[j]))} ms, ${n} runs` }));
    cases.forEach((c, j) => rows.push({ subject: `hook, in-process (PRODGUARD_GUARD_DAEMON=off): ${c.label}`, value: Math.round(median(inproc[j])), unit: 'ms median', note: `${ratio(inproc[j]).toFixed(2)}× node -e 0; ${inproc[j].length} runs` }));
    rows.push({ subject: 'hook, cold (no daemon yet; decided in-process, daemon started): npm test (allowed)', value: Math.round(median(cold.allow)), unit: 'ms median', note: `${ratio(cold.allow).toFixed(2)}× node -e 0; ${cold.allow.length} runs` });
    rows.push({ subject: 'hook, cold (no daemon yet; decided in-process, daemon started): supabase db reset --linked (denied)', value: Math.round(median(cold.deny)), unit: 'ms median', note: `${ratio(cold.deny).toFixed(2)}× node -e 0; ${cold.deny.length} runs` });
    const baseCpu = childCpu.get('base')! / n;
    rows.push({ subject: 'CPU per call: node -e 0', value: Math.round(baseCpu), unit: 'ms CPU', note: `user+system, mean of ${n} (10 ms ticks)` });
    cases.forEach((c, j) => {
      const own = childCpu.get(`warm${j}`)! / n;
      const dmn = daemonCpu[j] / n;
      rows.push({ subject: `CPU per call, warm daemon: ${c.label}`, value: Math.round(own + dmn), unit: 'ms CPU', note: `${((own + dmn) / baseCpu).toFixed(2)}× node -e 0 (hook process ${Math.round(own)} ms + daemon ${Math.round(dmn)} ms)` });
    });
    const worstWarm = Math.max(...warm.map(ratio));
    const load1 = loadavg()[0];
    return {
      name: 'guard',
      title: 'Agent hook latency per call vs node -e 0',
      goal: '≤ 2× node -e 0 per hook call, allowed and denied (with the resident decision process warm)',
      met: worstWarm <= 2,
      // (wall time is the goal; the CPU rows show what a call costs when the machine is not shared)
      setup: `The installed hook command (node dist/guard/hook-main.js claude-code) spawned per call with a real PreToolUse payload in a copy of test/guard/fixture (prodguard.yaml, audit log on: every decision is appended to the hash-chained log before the answer, a refusal's record fsynced). Runs interleaved round by round, medians. Load average (1 min) ${load0.toFixed(2)} at start, ${load1.toFixed(2)} at end, on ${(await import('node:os')).cpus().length} cores shared with other work.`,
      rows,
    };
  } finally {
    stopDaemons(runtime);
    for (const rt of colds) {
      stopDaemons(rt);
      rmSync(rt, { recursive: true, force: true });
    }
    rmSync(runtime, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}
