#!/usr/bin/env node
// Runs the test files under test/ with node's own test runner (TypeScript through tsx), in two
// tiers: first the fast unit tier listed in test/unit-tests.txt (no cluster, no child process),
// stopping there on a failure; then everything else. Files run two at a time: each file shares
// its clusters across its tests.
//   node scripts/test.mjs                 both tiers
//   node scripts/test.mjs --unit          only the unit tier
//   node scripts/test.mjs <substring…>    files whose path contains a substring (still unit tier first)
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const UNIT_LIST = 'test/unit-tests.txt';
// What makes a test slow or impure: a real cluster, the CLI in a child process, a server.
const NOT_UNIT = /helpers\/pg(\.js)?'|\brunCli\b|node:child_process|helpers\/demo|s3rver|playwright/;

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...collect(full));
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

function unitList() {
  const files = readFileSync(UNIT_LIST, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const f of files) {
    if (!existsSync(f)) fail(`${UNIT_LIST}: ${f} does not exist`);
    if (NOT_UNIT.test(readFileSync(f, 'utf8'))) fail(`${UNIT_LIST}: ${f} needs a cluster or a child process; it belongs in the second tier`);
  }
  return new Set(files);
}

function fail(message) {
  console.error(message);
  process.exit(1);
}

function run(files) {
  const concurrency = process.env.PRODGUARD_TEST_CONCURRENCY ?? '2';
  const res = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
    { stdio: 'inherit', env: { ...process.env, PRODGUARD_TEST: '1' } },
  );
  return res.status ?? 1;
}

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const filters = args.filter((a) => a !== '--unit');
const unit = unitList();
let files = collect('test');
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
const first = files.filter((f) => unit.has(f));
const second = unitOnly ? [] : files.filter((f) => !unit.has(f));
if (first.length + second.length === 0) fail('no test files matched');

if (first.length) {
  console.error(`unit tier: ${first.length} file(s)`);
  const code = run(first);
  if (code !== 0) {
    if (second.length) console.error(`unit tier failed; the ${second.length} cluster test file(s) were not run`);
    process.exit(code);
  }
}
if (second.length) {
  console.error(`cluster tier: ${second.length} file(s)`);
  process.exit(run(second));
}
