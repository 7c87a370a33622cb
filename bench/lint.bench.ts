/**
 * Lint throughput, prodguard versus squawk (npm `squawk-cli`, a native binary), on the same real
 * migrations in the same run: the corpus of bench/lint-corpus.ts (migration files shipped inside
 * npm devDependencies: graphile-worker, @pgflow/core, @pgpm/*), each package linted as its own
 * migrator applies it (prodguard `--runner`, squawk `--assume-in-transaction` where the migrator
 * wraps each file), one process per package for the CLI and squawk. Times are CPU seconds (user + system), not wall clock: the machine is shared and
 * wall time mostly measures waiting for a core. The goal is judged on one process over the whole
 * corpus for each tool (prodguard `--runner none`, squawk defaults: the same 92 files, the same
 * work for both), start-up included: Node, loading the WASM parser. The CLI is dist/cli/main.js as
 * `npm run build` leaves it (with the bundled lean lint path, scripts/bundle-lint.mjs). Also measured: one process
 * per package (each with its runner), and `lintSources` in a warm process (steady-state throughput).
 * Without squawk installed the comparison falls back to the bare parse rate.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSqlParser, parseSync } from '../src/sql/parser.js';
import { lintSources } from '../src/sql/lint-files.js';
import type { BenchResult } from './run.js';
import { loadLintCorpus, writeCorpus } from './lint-corpus.js';
import { quick } from './quick.js';

/** `npm run bench -- --quick` runs this bench at small sizes (bench/quick.ts). */
export const quickSupported = true;

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const squawkBin = join(repo, 'node_modules', '.bin', 'squawk');

const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

/** Least CPU time of `rounds` runs of fn in this process. */
function best(rounds: number, fn: () => void): number {
  let min = Infinity;
  for (let i = 0; i < rounds; i++) {
    const u = process.cpuUsage();
    fn();
    min = Math.min(min, cpuSeconds(process.cpuUsage(u)));
  }
  return min;
}

async function bestAsync(rounds: number, fn: () => Promise<unknown>): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < rounds; i++) {
    const u = process.cpuUsage();
    await fn();
    min = Math.min(min, cpuSeconds(process.cpuUsage(u)));
  }
  return min;
}

/** Least CPU time (user + system of the child, from bash's `times`) of `rounds` runs of a command. */
function bestProcess(rounds: number, cmd: string[], cwd: string): number {
  const quoted = cmd.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  let min = Infinity;
  for (let i = 0; i < rounds; i++) {
    const out = execFileSync('bash', ['-c', `${quoted} >/dev/null 2>&1; times`], { cwd, encoding: 'utf8' });
    const children = out.trim().split('\n')[1] ?? '';
    const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((a, m) => a + Number(m[1]) * 60 + Number(m[2]), 0);
    min = Math.min(min, secs);
  }
  return min;
}

export async function run(): Promise<BenchResult> {
  await loadSqlParser();
  const pkgs = loadLintCorpus();
  const files = pkgs.reduce((n, p) => n + p.files.length, 0);
  let statements = 0;
  for (const p of pkgs) statements += (await lintSources(p.files, { runner: p.runner })).summary.statements;
  const rounds = quick ? 2 : 5;
  const ours = await bestAsync(rounds, async () => {
    for (const p of pkgs) await lintSources(p.files, { runner: p.runner });
  });
  const parse = best(rounds, () => pkgs.forEach((p) => p.files.forEach((f) => parseSync(f.sql))));
  const tmp = mkdtempSync(join(tmpdir(), 'prodguard-lint-bench-'));
  let cli: number | undefined;
  let squawk: number | undefined;
  let cliAll: number | undefined;
  let squawkAll: number | undefined;
  let squawkVersion = '';
  let scaled: { copies: number; cli: number; squawk: number } | undefined;
  try {
    const dirs = writeCorpus(pkgs, tmp);
    const cliMain = join(repo, 'dist', 'cli', 'main.js');
    // One process per package (each with its runner), summed: what linting each project costs.
    if (existsSync(cliMain)) cli = dirs.reduce((t, d) => t + bestProcess(3, [process.execPath, cliMain, 'lint', '--runner', d.pkg.runner, '--format', 'json', d.dir], repo), 0);
    // squawk-cli is not a devDependency: its lock entries name platform packages the registry
    // here does not serve, which breaks `npm ci`. The bench installs it for itself when it can.
    if (!existsSync(squawkBin)) {
      try {
        execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', 'squawk-cli@2.66.0'], { cwd: repo, stdio: 'ignore' });
      } catch {
        // fall back to the bare parse rate below
      }
    }
    if (existsSync(squawkBin)) {
      squawkVersion = execFileSync(squawkBin, ['--version'], { encoding: 'utf8' }).trim();
      squawk = dirs.reduce((t, d) => t + bestProcess(rounds, [squawkBin, '--reporter', 'json', ...(d.pkg.wrapsFile ? ['--assume-in-transaction'] : []), ...d.names], d.dir), 0);
    }
    // One process over the whole corpus for each tool, alternated so both meet the same load.
    if (existsSync(cliMain) && existsSync(squawkBin)) {
      const allFiles = dirs.flatMap((d) => d.names.map((n) => join(d.dir, n)));
      let c = Infinity;
      let q = Infinity;
      for (let i = 0; i < rounds; i++) {
        c = Math.min(c, bestProcess(1, [process.execPath, cliMain, 'lint', '--runner', 'none', '--format', 'json', ...dirs.map((d) => d.dir)], repo));
        q = Math.min(q, bestProcess(1, [squawkBin, '--reporter', 'json', ...allFiles], repo));
      }
      cliAll = c;
      squawkAll = q;
      // Throughput without start-up dominating: the same corpus ten times over (one process per
      // tool over all 920 files). The difference to one copy is what nine more copies cost each tool.
      const copies = quick ? 3 : 10;
      const many: string[] = [];
      for (let k = 1; k < copies; k++) for (const d of writeCorpus(pkgs, join(tmp, `copy-${k}`))) many.push(d.dir);
      const manyDirs = [...dirs.map((d) => d.dir), ...many];
      const manyFiles = manyDirs.flatMap((dir) => readdirSync(dir).map((n) => join(dir, n)));
      let cm = Infinity;
      let qm = Infinity;
      for (let i = 0; i < (quick ? 1 : 3); i++) {
        cm = Math.min(cm, bestProcess(1, [process.execPath, cliMain, 'lint', '--runner', 'none', '--format', 'json', ...manyDirs], repo));
        qm = Math.min(qm, bestProcess(1, [squawkBin, '--reporter', 'json', ...manyFiles], repo));
      }
      scaled = { copies, cli: cm, squawk: qm };
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const rate = (secs: number) => Math.round(statements / secs);
  const baseline = squawkAll ?? squawk ?? parse;
  // The goal is judged on what a user runs: one CLI process against one squawk process over the same files.
  const judged = squawkAll && cliAll ? cliAll : squawk && cli ? cli : ours;
  const ratio = judged / baseline;
  return {
    name: 'lint',
    title: squawk ? 'Lint throughput vs squawk' : 'Lint throughput vs the bare parse rate (squawk not installed)',
    goal: squawk ? 'prodguard lint (one CLI process over the corpus) within 2× of squawk’s CPU time (one process over the same files)' : 'lint within 2× of parsing alone',
    met: ratio <= 2,
    setup: `${files} files, ${statements} statements (${pkgs.map((p) => `${p.name}@${p.version} ${p.license}`).join(', ')}); CPU seconds (user + system), best of ${rounds} (per-package CLI: 3); judged: one process per tool over all files, alternated, start-up included; also one process per package (${pkgs.length}) for each tool, summed; the corpus ×N in one process per tool (best of 3, alternated), which separates start-up from per-statement cost; lintSources in a warm process`,
    rows: [
      ...(squawkAll && cliAll
        ? [
            { subject: `squawk (${squawkVersion}), one process over all ${files} files`, value: rate(squawkAll), unit: 'statements/s', note: `${(squawkAll * 1000).toFixed(0)} ms CPU` },
            { subject: 'prodguard lint CLI, one process over all files (--runner none)', value: rate(cliAll), unit: 'statements/s', note: `${(cliAll * 1000).toFixed(0)} ms CPU; ${(cliAll / squawkAll).toFixed(1)}× squawk` },
          ]
        : []),
      ...(scaled && squawkAll && cliAll
        ? [
            { subject: `squawk, one process over the corpus ×${scaled.copies} (${files * scaled.copies} files)`, value: Math.round((statements * scaled.copies) / scaled.squawk), unit: 'statements/s', note: `${(scaled.squawk * 1000).toFixed(0)} ms CPU; each copy beyond the first ${(((scaled.squawk - squawkAll) / (scaled.copies - 1)) * 1000).toFixed(0)} ms` },
            { subject: `prodguard lint CLI, one process over the corpus ×${scaled.copies} (--runner none)`, value: Math.round((statements * scaled.copies) / scaled.cli), unit: 'statements/s', note: `${(scaled.cli * 1000).toFixed(0)} ms CPU; ${(scaled.cli / scaled.squawk).toFixed(1)}× squawk; each copy beyond the first ${(((scaled.cli - cliAll) / (scaled.copies - 1)) * 1000).toFixed(0)} ms (${((scaled.cli - cliAll) / (scaled.squawk - squawkAll)).toFixed(1)}× squawk's)` },
          ]
        : []),
      ...(squawk ? [{ subject: `squawk (${squawkVersion}, one process per package)`, value: rate(squawk), unit: 'statements/s', note: `${(squawk * 1000).toFixed(0)} ms CPU` }] : []),
      { subject: 'prodguard lintSources, each package with its runner (in-process)', value: rate(ours), unit: 'statements/s', note: `${(ours * 1000).toFixed(0)} ms CPU; ${(ours / baseline).toFixed(2)}× ${squawk ? 'squawk' : 'bare parse'}` },
      ...(cli ? [{ subject: 'prodguard lint CLI (node dist/cli/main.js, one process per package)', value: rate(cli), unit: 'statements/s', note: `${(cli * 1000).toFixed(0)} ms CPU${squawk ? `; ${(cli / squawk).toFixed(1)}× squawk` : ''}` }] : []),
      { subject: 'libpg-query parseSync only (bare)', value: rate(parse), unit: 'statements/s', note: `${(parse * 1000).toFixed(0)} ms CPU` },
    ],
  };
}
