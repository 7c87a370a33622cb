/**
 * Generated from the rule objects: every rule's bad examples must trigger it (unsuppressed) with
 * exactly its pinned messages (rule-messages.ts) and its good examples must not. Docs,
 * `prodguard lint --rules` and these tests share the objects. Each example is linted here only.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lint, lintRules } from '../../src/sql/index.js';
import { messageLine, pinnedMessages, writePinnedMessages, UPDATE_SNAPSHOT, type PinnedMessages } from './rule-messages.js';

const pinned = pinnedMessages();
const seen: PinnedMessages = {};
after(() => {
  if (UPDATE_SNAPSHOT) writePinnedMessages(seen);
});

describe('every lint rule fires on its bad examples and not on its good ones', () => {
  for (const rule of lintRules) {
    describe(rule.id, () => {
      it('has an id, severity, title, explanation and examples of both kinds', () => {
        assert.match(rule.id, /^[a-z]+(-[a-z]+)*$/);
        assert.ok(rule.severity === 'error' || rule.severity === 'warning');
        assert.ok(rule.title.length > 5 && rule.explanation.length > 80, 'title and explanation are written out');
        assert.ok(rule.examples.bad.length >= 1 && rule.examples.good.length >= 1);
      });
      for (const bad of rule.examples.bad) {
        it(`fires on: ${bad.replace(/\n/g, ' ⏎ ')}`, async () => {
          const hits = (await lint(bad)).filter((f) => f.ruleId === rule.id && !f.suppressed);
          assert.ok(hits.length >= 1, `${rule.id} did not fire`);
          for (const h of hits) {
            assert.equal(h.severity, rule.severity);
            assert.ok(h.line >= 1 && h.column >= 1);
            assert.ok(h.message.length > 10);
          }
          // The exact messages, pinned snapshot-style.
          const messages = hits.map(messageLine);
          (seen[rule.id] ??= {})[bad] = messages;
          if (UPDATE_SNAPSHOT) return;
          assert.ok(pinned[rule.id], `rule ${rule.id} has no pinned messages yet`);
          assert.deepEqual(messages, pinned[rule.id][bad], `${rule.id} on ${bad.replace(/\n/g, ' ⏎ ')}`);
        });
      }
      for (const good of rule.examples.good) {
        it(`stays silent on: ${good.replace(/\n/g, ' ⏎ ')}`, async () => {
          const hits = (await lint(good)).filter((f) => f.ruleId === rule.id && !f.suppressed);
          assert.deepEqual(hits.map((h) => h.message), []);
        });
      }
    });
  }
});
