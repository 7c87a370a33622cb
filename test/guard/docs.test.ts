/** docs/guard.md's rule and wrapper reference is generated from the objects (issue #10/#13): byte-identical. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/cli.js';
import { withGeneratedRules } from '../../src/guard/docs.js';

test('docs/guard.md holds exactly the generated rule list (run node --import tsx scripts/gen-guard-docs.ts after editing a rule or wrapper)', () => {
  const doc = readFileSync(join(REPO, 'docs/guard.md'), 'utf8');
  assert.equal(doc, withGeneratedRules(doc));
});
