import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/cli.js';
import { configDocs } from '../../scripts/gen-config-docs.js';

test('docs/configuration.md is generated from the current schema (run `npm run docs` after changing it)', () => {
  assert.equal(readFileSync(join(REPO, 'docs/configuration.md'), 'utf8'), configDocs());
});

test('the README quickstart has exactly the two set-up commands CI and users run', () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const quick = readme.split(/^## /m).find((s) => s.startsWith('Quickstart'))!;
  const commands = [...quick.matchAll(/```(?:bash|sh)\n([\s\S]*?)```/g)].map((m) => m[1].trim());
  assert.deepEqual(commands, ['npm ci && npx prodguard demo', 'npm test']);
  const ci = readFileSync(join(REPO, '.ci/run'), 'utf8');
  assert.match(ci, /^npm ci$/m);
  assert.match(ci, /^npm test$/m);
});
