/**
 * Every lint rule's exact message, pinned snapshot-style: for each bad example, the line, column
 * and text of every finding of that rule (test/sql/fixtures/rule-messages.json). The examples are
 * linted once, in lint-rules.test.ts, which compares each one's findings with this snapshot; this
 * file checks the snapshot itself covers exactly the rules and bad examples there are, so a rule
 * added without a snapshot fails until its messages are pinned. A changed message is a reviewed
 * change: regenerate with `PRODGUARD_UPDATE_SNAPSHOT=1 node scripts/test.mjs lint-rules` and read the diff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lintRules } from '../../src/sql/index.js';
import { pinnedMessages } from './rule-messages.js';

test('every lint rule has pinned messages for exactly its bad examples (compared in lint-rules.test.ts)', () => {
  const pinned = pinnedMessages();
  for (const rule of lintRules) {
    assert.ok(pinned[rule.id], `rule ${rule.id} has no pinned messages yet`);
    assert.deepEqual(Object.keys(pinned[rule.id]).sort(), [...new Set(rule.examples.bad)].sort(), `${rule.id}: the pinned examples are not its bad examples`);
    for (const [bad, messages] of Object.entries(pinned[rule.id])) assert.ok(messages.length >= 1, `${rule.id} pins no message for ${bad}`);
  }
  assert.deepEqual(Object.keys(pinned).sort(), lintRules.map((r) => r.id).sort(), 'a pinned rule no longer exists');
});
