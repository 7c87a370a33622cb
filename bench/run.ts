/**
 * `npm run bench [name…]`: runs every bench/*.bench.ts (or the named ones), each comparing
 * prodguard with the plain tool it wraps in the same run, writes bench/results/<name>.json and
 * regenerates docs/benchmarks.md from all results on disk: one report with a summary table
 * (prodguard's figure, the plain tool's, the ratio, the goal) and the machine it ran on.
 *
 * `npm run bench -- --quick [name…]`: small sizes, under 2 minutes — see bench/quick.ts for how a
 * bench takes part. Quick results go to bench/results/quick/ and never replace the full report.
 */
import { readdirSync, readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpus, loadavg, totalmem } from 'node:os';
import { spawnSync } from 'node:child_process';

export interface BenchRow {
  /** What was measured, e.g. "prodguard backup create (encrypted, 2 destinations)". */
  subject: string;
  /** The number, in `unit`. */
  value: number;
  unit: string;
  /** Free text: baseline ratio, sample count. */
  note?: string;
}

/**
 * The headline comparison of a bench: prodguard's figure next to the plain tool's from the same
 * run. `higherIsBetter` for rates (tps, statements/s); times and sizes are lower-is-better.
 */
export interface BenchCompare {
  /** Row subject (or a prefix of it) holding prodguard's figure. */
  prodguard: string;
  /** Row subject (or a prefix of it) holding the plain tool's figure. */
  plain: string;
  higherIsBetter?: boolean;
}

export interface BenchResult {
  name: string;
  title: string;
  /** The goal as stated in the issue, e.g. "≤ 1.10× bare pg_dump". */
  goal: string;
  /** Whether the goal was met in this run. */
  met: boolean;
  rows: BenchRow[];
  /** Extra context: data size, parameters. */
  setup: string;
  /** The headline comparison for the summary table (see BenchCompare); optional. */
  compare?: BenchCompare;
}

/**
 * Headlines for benches that do not declare `compare` yet (their row subjects as of this run
 * format). A bench's own `compare` always wins; a pattern that matches no row shows "—".
 */
const DEFAULT_COMPARE: Record<string, BenchCompare> = {
  backup: { prodguard: 'prodguard backup create', plain: 'bare pg_dump' },
  gateway: { prodguard: 'gateway, -M simple, 8 clients', plain: 'direct, -M simple, 8 clients', higherIsBetter: true },
  guard: { prodguard: 'prodguard hook claude-code: plain command', plain: 'node -e 0' },
  lint: { prodguard: 'prodguard lint CLI', plain: 'squawk', higherIsBetter: true },
  migrate: { prodguard: 'prodguard applyMigrations', plain: 'psql' },
  'recovery-speed': { prodguard: 'prodguard createBackup', plain: 'bare pg_dump' },
  restore: { prodguard: 'prodguard restore', plain: 'createdb + bare pg_restore' },
  sql: { prodguard: 'prodguard classifySync', plain: 'libpg-query parseSync', higherIsBetter: true },
};

interface Machine {
  cpus: number;
  cpuModel?: string;
  memGiB: number;
  node: string;
  postgres?: string;
  loadavg?: number[];
}

function postgresVersion(): string | undefined {
  for (const cmd of ['postgres', 'pg_config']) {
    const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim().replace(/^postgres \(PostgreSQL\) /, 'PostgreSQL ');
  }
  return undefined;
}

function machine(): Machine {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    postgres: postgresVersion(),
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, 'results');

async function main() {
  // `--doc`: only regenerate docs/benchmarks.md from the results on disk.
  if (process.argv.includes('--doc')) {
    writeDoc();
    return;
  }
  const quick = process.argv.includes('--quick');
  // Set before any bench module loads: bench/quick.ts reads it at import time.
  if (quick) {
    process.env.PRODGUARD_BENCH_QUICK = '1';
    // Small sizes for the benches whose size is a variable (an explicit value still wins).
    const small: Record<string, string> = { BENCH_BACKUP_SCALE: '2', PRODGUARD_BENCH_SECONDS: '1', PRODGUARD_BENCH_ROUNDS: '1', BENCH_MIGRATE_STATEMENTS: '200', BENCH_SPEED_SCALE: '2', BENCH_SPEED_RUNS: '1' };
    for (const [k, v] of Object.entries(small)) process.env[k] ??= v;
  }
  const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const files = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).sort()
    .filter((f) => !filters.length || filters.some((x) => f.includes(x)));
  const outDir = quick ? join(resultsDir, 'quick') : resultsDir;
  mkdirSync(outDir, { recursive: true });
  const started = Date.now();
  let failed = false;
  const skipped: string[] = [];
  for (const f of files) {
    const name = f.replace(/\.bench\.ts$/, '');
    let mod: { run: (o: { quick: boolean }) => Promise<BenchResult>; quickSupported?: boolean };
    try {
      mod = (await import(pathToFileURL(join(here, f)).href)) as typeof mod;
    } catch (err) {
      failed = true;
      process.stderr.write(`bench ${name} failed to load: ${(err as Error).stack}\n`);
      continue;
    }
    if (quick && !mod.quickSupported) {
      skipped.push(name);
      process.stderr.write(`bench ${name}: skipped in --quick (no small size yet: it exports no quickSupported)\n`);
      continue;
    }
    process.stderr.write(`bench ${name}${quick ? ' (quick)' : ''} …\n`);
    try {
      const before = machine();
      const result = await mod.run({ quick });
      const stamped = { ...result, name, quick, at: new Date().toISOString(), machine: { ...before, loadavgAfter: loadavg().map((x) => Math.round(x * 100) / 100) } };
      writeFileSync(join(outDir, `${name}.json`), JSON.stringify(stamped, null, 2) + '\n');
      process.stderr.write(renderOne(stamped) + '\n');
    } catch (err) {
      failed = true;
      process.stderr.write(`bench ${name} failed: ${(err as Error).stack}\n`);
    }
  }
  if (quick) {
    process.stderr.write(`\n${summaryTable(readResults(outDir))}\n\nquick run: ${Math.round((Date.now() - started) / 1000)} s; results in ${outDir} (docs/benchmarks.md is written by full runs only)${skipped.length ? `; skipped: ${skipped.join(', ')}` : ''}\n`);
  } else writeDoc();
  process.exit(failed ? 1 : 0);
}

type Stamped = BenchResult & { at?: string; quick?: boolean; machine?: Machine & { loadavgAfter?: number[] } };

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

/** prodguard's figure, the plain tool's, and how prodguard compares (× the plain tool's cost or rate). */
export function headline(r: BenchResult): { prodguard: BenchRow; plain: BenchRow; ratio: number; higherIsBetter: boolean } | null {
  const c = r.compare ?? DEFAULT_COMPARE[r.name];
  if (!c) return null;
  const find = (p: string) => r.rows.find((x) => x.subject.startsWith(p)) ?? r.rows.find((x) => x.subject.includes(p));
  const prodguard = find(c.prodguard);
  const plain = find(c.plain);
  if (!prodguard || !plain || !plain.value) return null;
  return { prodguard, plain, ratio: prodguard.value / plain.value, higherIsBetter: !!c.higherIsBetter };
}

function summaryTable(results: Stamped[]): string {
  const lines = ['| benchmark | prodguard | plain tool | ratio | goal | met | run |', '|---|---|---|---:|---|---|---|'];
  for (const r of results) {
    const h = headline(r);
    const cell = (row: BenchRow) => `${fmt(row.value)} ${row.unit} — ${row.subject.replace(/\|/g, '\\|')}`;
    const ratio = h ? `${h.ratio.toFixed(2)}× ${h.higherIsBetter ? '(rate; higher is better)' : '(time; lower is better)'}` : '—';
    lines.push(`| [${r.title}](#${anchor(r.title)}) | ${h ? cell(h.prodguard) : '—'} | ${h ? cell(h.plain) : '—'} | ${ratio} | ${r.goal} | ${r.met ? 'yes' : '**no**'} | ${(r.at ?? '').slice(0, 10)} |`);
  }
  return lines.join('\n');
}

function anchor(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9 -]/g, '').trim().replace(/ /g, '-');
}

function machineLine(m: Stamped['machine']): string {
  if (!m) return 'machine: not recorded';
  return `${m.cpus} cores${m.cpuModel ? ` (${m.cpuModel})` : ''}, ${m.memGiB} GiB memory, ${m.postgres ?? 'PostgreSQL version not recorded'}, Node ${m.node}${m.loadavg ? `, load average ${m.loadavg.join(' / ')} at start${m.loadavgAfter ? `, ${m.loadavgAfter.join(' / ')} at end` : ''}` : ''}`;
}

function renderOne(r: Stamped): string {
  const lines = [`### ${r.title}`, '', `Goal: ${r.goal} — **${r.met ? 'met' : 'not met'}** (run ${r.at ?? ''}${r.quick ? ', quick sizes' : ''})`, '', `Machine: ${machineLine(r.machine)}`, '', `Setup: ${r.setup}`, ''];
  const h = headline(r);
  if (h) lines.push(`Headline: prodguard ${fmt(h.prodguard.value)} ${h.prodguard.unit} vs plain ${fmt(h.plain.value)} ${h.plain.unit} = **${h.ratio.toFixed(2)}×** ${h.higherIsBetter ? '(rate)' : '(time)'}`, '');
  lines.push('| measured | value | unit | note |', '|---|---:|---|---|');
  for (const row of r.rows) lines.push(`| ${row.subject} | ${Number.isInteger(row.value) ? row.value : row.value.toFixed(3)} | ${row.unit} | ${row.note ?? ''} |`);
  return lines.join('\n');
}

function readResults(dir: string): Stamped[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Stamped) : [];
}

function writeDoc() {
  const results = readResults(resultsDir);
  const machines = [...new Set(results.map((r) => machineLine(r.machine)))];
  const doc = [
    '# Benchmarks',
    '',
    'Generated by `npm run bench` (bench/run.ts) from bench/results/*.json. Each benchmark runs prodguard and the plain tool it wraps in the same run on the same machine; numbers are from the last run of each. Tests never assert timings; these goals are tracked here. The machine is shared by several processes: compare ratios from the same run, not absolute numbers across runs. `npm run bench -- --quick` runs small sizes in under 2 minutes (bench/quick.ts) and does not change this page.',
    '',
    '## Summary',
    '',
    summaryTable(results),
    '',
    `Machine${machines.length > 1 ? 's' : ''}: ${machines.join('; ')}.`,
    '',
    '## Details',
    '',
    ...results.map((r) => renderOne(r) + '\n'),
  ].join('\n');
  writeFileSync(join(here, '..', 'docs', 'benchmarks.md'), doc);
}

await main();
