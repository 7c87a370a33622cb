/**
 * `npm run bench -- --quick`: smaller sizes so the whole report finishes in under 2 minutes.
 * bench/run.ts sets PRODGUARD_BENCH_QUICK=1 before importing any bench; a bench reads `quick`
 * from here (or the `{ quick }` argument run.ts passes to `run`) and picks its small sizes, then
 * exports `quickSupported = true` so run.ts includes it in a quick run. A bench without that
 * export is listed as skipped in --quick runs (its full size would blow the 2-minute budget).
 *
 *   import { quick } from './quick.js';
 *   export const quickSupported = true;
 *   export async function run(): Promise<BenchResult> { const scale = quick ? 2 : 70; … }
 */
export const quick = process.env.PRODGUARD_BENCH_QUICK === '1';
