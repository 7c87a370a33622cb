import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runCli } from '../helpers/cli.js';

test('prodguard demo runs every chapter against real clusters, prints the scorecard and leaves nothing behind', async () => {
  const r = await runCli(['demo', '--json'], { timeoutMs: 600_000 });
  const result = JSON.parse(r.stdout) as {
    ok: boolean;
    projectDir: string;
    clusterDirs: string[];
    chapters: Array<{ id: string; ok: boolean; error?: string }>;
    scorecard: { rules: Array<{ rule: number; state: string }> };
  };
  const failed = result.chapters.filter((c) => !c.ok);
  assert.deepEqual(failed, [], r.stderr.slice(-3000));
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  assert.ok(result.chapters.length >= 1);
  assert.deepEqual(result.scorecard.rules.map((x) => x.rule), [1, 2, 3, 4, 5, 6]);
  assert.match(r.stderr, /seeded: 300 businesses, 3000 customers, 6000 orders/);
  assert.equal(existsSync(result.projectDir), false, 'demo project removed');
  assert.equal(result.clusterDirs.length, 2);
  for (const d of result.clusterDirs) assert.equal(existsSync(d), false, `cluster directory ${d} removed`);
  assert.doesNotMatch(r.stderr + r.stdout, /AGE-SECRET-KEY-1[0-9A-Z]{10}/, 'no private key printed');
});

test('prodguard demo --chapter with an unknown id is a usage error before any cluster starts', async () => {
  const r = await runCli(['demo', '--chapter', 'no-such-chapter']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^prodguard: unknown demo chapter\(s\): no-such-chapter; chapters: /);
  assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  assert.doesNotMatch(r.stderr, /Starting two local PostgreSQL clusters/);
});
