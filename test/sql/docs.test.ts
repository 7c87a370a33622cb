/** docs/sql.md's rule reference is generated from the rule objects; this keeps it from drifting. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/cli.js';
import { lintRules } from '../../src/sql/index.js';

test('docs/sql.md documents every lint rule exactly as the rule objects say (run scripts/gen-sql-docs.ts after editing a rule)', () => {
  const doc = readFileSync(join(REPO, 'docs/sql.md'), 'utf8');
  for (const r of lintRules) {
    assert.ok(doc.includes(`### ${r.id}\n`), `docs/sql.md lacks a section for ${r.id}`);
    assert.ok(doc.includes(r.explanation), `docs/sql.md has a stale explanation for ${r.id}`);
    for (const ex of [...r.examples.bad, ...r.examples.good]) assert.ok(doc.includes(ex), `docs/sql.md lacks the example of ${r.id}: ${ex}`);
  }
});
