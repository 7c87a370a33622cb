#!/usr/bin/env node
// Copies the red-team cases and their fixture project (written by someone who saw only the docs
// and the CLI) into test/guard/: corpus/redteam.jsonl and redteam-fixture/. Re-run when new cases arrive:
//   node scripts/import-redteam.mjs /work/redteam/guard
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const src = process.argv[2] ?? '/work/redteam/guard';
const cases = readFileSync(join(src, 'cases.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => {
  const c = JSON.parse(l);
  delete c.observed; // what the first-wave guard answered; the test decides now
  return JSON.stringify(c);
});
writeFileSync('test/guard/corpus/redteam.jsonl', cases.join('\n') + '\n');
rmSync('test/guard/redteam-fixture', { recursive: true, force: true });
cpSync(join(src, 'fixture'), 'test/guard/redteam-fixture', {
  recursive: true,
  // The fixture's own .gitignore would hide .env* and supabase/.temp from this repository.
  filter: (p) => !/\/(\.git|\.gitignore|\.prodguard|node_modules)(\/|$)/.test(p.slice(join(src, 'fixture').length)),
});
cpSync(join(src, 'FIXTURE.md'), 'test/guard/redteam-fixture/FIXTURE.md');
console.log(`${cases.length} red-team cases imported`);
