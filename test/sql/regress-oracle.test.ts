/**
 * PostgreSQL's own regression suite checks the classifier (test/sql/regress/oracle.ts): each
 * statement runs first inside a READ ONLY transaction, then normally, on a real cluster. Zero
 * leaks (a statement the guard would allow that PostgreSQL refuses read-only) is required, and
 * at most 5% false alarms among the statements PostgreSQL runs read-only — all of them, the
 * deliberate refusals and unknown code (fail closed) included, which are also counted apart and
 * reported (docs/sql.md); the unintended ones alone stay far below.
 *
 * The regression SQL is not committed: it comes from Debian's source package of the installed
 * postgresql-NN (test/sql/regress/fetch.ts), fetched here when missing — as root; without it this
 * test FAILS with the reason, it does not skip.
 *
 * Time: the whole schedule (217 files, ~40,700 statements) takes about 2.5 minutes here, so CI
 * runs a fixed-seed sample of the files (PRODGUARD_REGRESS_SAMPLE, default 0.3, seed 14; the
 * setup files always run). PRODGUARD_REGRESS_SAMPLE=1 runs everything;
 * PRODGUARD_REGRESS_REPORT=<file> writes the full report as JSON.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { sharedCluster } from '../helpers/pg.js';
import { ensureRegressSql } from './regress/fetch.js';
import { runRegressOracle } from './regress/oracle.js';

const SAMPLE = Number(process.env.PRODGUARD_REGRESS_SAMPLE ?? '0.3');
const SEED = 14;

describe("oracle: PostgreSQL's regression suite", () => {
  const cluster = sharedCluster();

  it('no statement the guard allows is refused read-only, and ≤ 5% false alarms', { timeout: 900_000 }, async (t) => {
    // Throws (failing the test, loudly) when the regression SQL cannot be had.
    const regress = ensureRegressSql();
    const report = await runRegressOracle({ dir: regress.dir, url: cluster().url(), sample: SAMPLE, seed: SEED });
    const { leaks, falseAlarms, categories, files, ...numbers } = report;
    t.diagnostic(`source: ${regress.source}; sample ${SAMPLE} (seed ${SEED}): ${files.length} files`);
    t.diagnostic(JSON.stringify({ ...numbers, leaks: leaks.length, falseAlarms: falseAlarms.length }));
    for (const c of categories.slice(0, 15)) t.diagnostic(`${c.count}\t${c.category}`);
    if (process.env.PRODGUARD_REGRESS_REPORT) writeFileSync(process.env.PRODGUARD_REGRESS_REPORT, JSON.stringify({ source: regress.source, sample: SAMPLE, seed: SEED, ...report }, null, 2));

    assert.ok(report.statements >= (SAMPLE >= 1 ? 35_000 : 5_000), `only ${report.statements} statements ran; is the regression SQL complete?`);
    assert.ok(report.acceptedReadOnly >= 1_000, `only ${report.acceptedReadOnly} statements ran read-only; the oracle would prove little`);
    assert.deepEqual(
      leaks.map((l) => `${l.file}:${l.line} [${l.class}] ${l.sql.slice(0, 100)} — ${l.message}`),
      [],
      'statements the guard allows that PostgreSQL refused in a read-only transaction',
    );
    assert.ok(report.unintendedRate <= 0.05, `unintended false alarms ${(report.unintendedRate * 100).toFixed(1)}% > 5%: ${categories.slice(0, 5).map((c) => `${c.count} ${c.category}`).join('; ')}`);
    // Everything refused that PostgreSQL runs read-only, deliberate or not: issue #14's goal (measured
    // 4.3% over the whole suite, 1.6% on the default sample; 11.2% before DO/dynamic SQL/identity work).
    assert.ok(report.falseAlarmRate <= 0.05, `all false alarms ${(report.falseAlarmRate * 100).toFixed(1)}% > 5%: ${categories.slice(0, 5).map((c) => `${c.count} ${c.category}`).join('; ')}`);
  });
});
