/**
 * The real-migration corpus shared by the lint bench and the squawk comparison
 * (bench/lint-corpus.ts) comes from npm devDependencies: it must be found, be big enough to mean
 * something, be openly licensed, and lint without a crash under each package's runner. No squawk.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLintCorpus } from '../../bench/lint-corpus.js';
import { lintSources } from '../../src/sql/lint-files.js';
import { MIGRATION_RUNNERS } from '../../src/sql/runner.js';

describe('lint corpus from installed npm packages', () => {
  const pkgs = loadLintCorpus();

  it('lists each package with version, an open licence and its files', () => {
    assert.ok(pkgs.length >= 3, `only ${pkgs.length} packages`);
    for (const p of pkgs) {
      assert.match(p.version, /^\d+\.\d+\.\d+/, p.name);
      assert.ok(['MIT', 'Apache-2.0', 'PostgreSQL'].includes(p.license), `${p.name}: licence ${p.license}`);
      assert.ok(MIGRATION_RUNNERS.includes(p.runner), `${p.name}: runner ${p.runner}`);
      assert.ok(p.files.length > 0, `${p.name}: no files`);
      for (const f of p.files) assert.ok(f.file.startsWith(`${p.name}@${p.version}/`) && f.file.endsWith('.sql'), f.file);
    }
    // graphile-worker's schema placeholder is substituted as its migrator does, or nothing parses.
    const gw = pkgs.find((p) => p.name === 'graphile-worker');
    assert.ok(gw && gw.files.every((f) => !f.sql.includes(':GRAPHILE_WORKER_SCHEMA')));
  });

  it('parses into at least 100 statements and prodguard lint runs over every package without crashing', async () => {
    let statements = 0;
    let findings = 0;
    for (const p of pkgs) {
      const run = await lintSources(p.files, { runner: p.runner });
      assert.equal(run.summary.files, p.files.length, p.name);
      statements += run.summary.statements;
      findings += run.findings.length;
    }
    assert.ok(statements >= 100, `only ${statements} statements`);
    // Real migrations of job queues and schema modules do take locks: a silent linter is broken.
    assert.ok(findings > 0, 'no findings at all on real migrations');
  });

  it('a missing package is one clear error naming it', () => {
    const empty = mkdtempSync(join(tmpdir(), 'prodguard-corpus-'));
    try {
      assert.throws(() => loadLintCorpus(empty), /lint corpus: npm package graphile-worker is not installed .*run npm ci/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
