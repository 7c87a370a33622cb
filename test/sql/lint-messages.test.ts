/**
 * Every lint rule's exact message, pinned snapshot-style: for each bad example, the line, column
 * and text of every finding of that rule (test/sql/fixtures/rule-messages.json). A changed message
 * is a reviewed change: regenerate with `PRODGUARD_UPDATE_SNAPSHOT=1 node scripts/test.mjs lint-messages`
 * and read the diff. A rule added without a snapshot fails until its messages are pinned.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lint, lintRules } from '../../src/sql/index.js';

const FILE = join(import.meta.dirname, 'fixtures', 'rule-messages.json');

async function current(): Promise<Record<string, Record<string, string[]>>> {
  const out: Record<string, Record<string, string[]>> = {};
  for (const rule of [...lintRules].sort((a, b) => a.id.localeCompare(b.id))) {
    out[rule.id] = {};
    for (const bad of rule.examples.bad) {
      out[rule.id][bad] = (await lint(bad)).filter((f) => f.ruleId === rule.id && !f.suppressed).map((f) => `${f.line}:${f.column} ${f.message}`);
    }
  }
  return out;
}

test('every lint rule gives exactly its pinned messages on its bad examples', async () => {
  const now = await current();
  if (process.env.PRODGUARD_UPDATE_SNAPSHOT === '1') writeFileSync(FILE, JSON.stringify(now, null, 2) + '\n');
  const pinned = JSON.parse(readFileSync(FILE, 'utf8')) as typeof now;
  for (const [id, examples] of Object.entries(now)) {
    assert.ok(pinned[id], `rule ${id} has no pinned messages yet`);
    for (const [bad, messages] of Object.entries(examples)) {
      assert.ok(messages.length >= 1, `${id} did not fire on ${bad}`);
      assert.deepEqual(messages, pinned[id][bad], `${id} on ${bad.replace(/\n/g, ' ⏎ ')}`);
    }
  }
  assert.deepEqual(Object.keys(pinned).sort(), Object.keys(now).sort(), 'a pinned rule no longer exists');
});
