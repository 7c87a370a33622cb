/**
 * Statements classified per second by prodguard's classifier versus bare libpg-query parsing
 * (`parseSync`) of the same statements, in the same run. The classifier parses too, so the
 * ratio is what classification adds on top of PostgreSQL's parser. Also lint throughput.
 */
import { parseSync } from 'libpg-query';
import { classifySync, lint, loadSqlParser } from '../src/sql/index.js';
import { loadCorpus } from '../test/sql/corpus.js';
import type { BenchResult } from './run.js';

/** `npm run bench -- --quick` runs this bench at small sizes: bench/run.ts sets its size variables small (bench/quick.ts). */
export const quickSupported = true;

function rate(statements: string[], fn: (sql: string) => unknown, rounds: number): number {
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (const s of statements) fn(s);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.max(best, statements.length / secs);
  }
  return best;
}

export async function run(): Promise<BenchResult> {
  await loadSqlParser();
  const corpus = (await loadCorpus()).map((s) => s.sql);
  // Warm up both paths (JIT, WASM) before measuring.
  rate(corpus, (s) => parseSync(s), 1);
  rate(corpus, (s) => classifySync(s), 1);
  const raw: number[] = [];
  const classified: number[] = [];
  for (let i = 0; i < 3; i++) {
    raw.push(rate(corpus, (s) => parseSync(s), 1));
    classified.push(rate(corpus, (s) => classifySync(s), 1));
  }
  const rawRate = Math.max(...raw);
  const classRate = Math.max(...classified);
  const file = corpus.join('\n;\n') + '\n;'; // newline first: a statement may end in a -- comment
  const t0 = process.hrtime.bigint();
  const findings = await lint(file);
  const lintSecs = Number(process.hrtime.bigint() - t0) / 1e9;
  const ratio = classRate / rawRate;
  return {
    name: 'sql',
    title: 'SQL classification vs bare libpg-query parsing',
    goal: 'classification ≥ 0.5× the bare parse rate',
    met: ratio >= 0.5,
    setup: `${corpus.length} statements from the oracle corpus (PostgreSQL docs, tutorial, catalog and extension scripts, tricky.sql); best of 3 interleaved passes each`,
    rows: [
      { subject: 'libpg-query parseSync (bare)', value: Math.round(rawRate), unit: 'statements/s' },
      { subject: 'prodguard classifySync (parse + classify + objects)', value: Math.round(classRate), unit: 'statements/s', note: `${ratio.toFixed(2)}× bare parse` },
      { subject: 'prodguard lint (whole corpus as one migration)', value: Math.round(corpus.length / lintSecs), unit: 'statements/s', note: `${findings.length} findings` },
    ],
  };
}
