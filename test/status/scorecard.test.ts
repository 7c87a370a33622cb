import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScorecard, formatScorecard } from '../../src/status/scorecard.js';
import type { StatusCheck } from '../../src/status/types.js';
import type { Context } from '../../src/context.js';

// The scorecard only hands the context to the checks; these checks do not use it.
const ctx = {} as Context;

test('a rule is its worst check; a rule without checks is missing "not configured"; ok needs every rule ok', async () => {
  const checks: StatusCheck[] = [
    { rule: 1, id: 'a', title: 'first', run: async () => ({ state: 'ok', reason: 'fine' }) },
    { rule: 1, id: 'b', title: 'second', run: async () => ({ state: 'missing', reason: 'nothing yet' }) },
    { rule: 2, id: 'c', title: 'third', run: async () => ({ state: 'missing', reason: 'later' }) },
    { rule: 2, id: 'd', title: 'fourth', run: async () => ({ state: 'failing', reason: 'broken' }) },
    { rule: 3, id: 'e', title: 'fifth', run: async () => ({ state: 'ok', reason: 'fine' }) },
  ];
  const card = await runScorecard(ctx, checks);
  const by = Object.fromEntries(card.rules.map((r) => [r.rule, r]));
  assert.equal(by[1].state, 'missing');
  assert.equal(by[1].reason, 'second: nothing yet');
  assert.equal(by[2].state, 'failing');
  assert.equal(by[2].reason, 'fourth: broken');
  assert.equal(by[3].state, 'ok');
  assert.equal(by[3].reason, '1 check(s) ok');
  for (const r of [4, 5, 6]) {
    assert.equal(by[r].state, 'missing');
    assert.match(by[r].reason, /^not configured/);
  }
  assert.equal(card.ok, false);
  assert.equal(formatScorecard(card).split('\n').filter((l) => /^\S/.test(l)).length, 6, 'one headline per rule');

  const all: StatusCheck[] = [1, 2, 3, 4, 5, 6].map((rule) => ({ rule: rule as StatusCheck['rule'], id: `r${rule}`, title: `t${rule}`, run: async () => ({ state: 'ok' as const, reason: 'fine' }) }));
  assert.equal((await runScorecard(ctx, all)).ok, true);
});

test('a check that throws or never answers is failing with its reason; the scorecard still answers', async () => {
  const checks: StatusCheck[] = [
    { rule: 4, id: 'throws', title: 'thrower', run: async () => { throw new Error('store is locked'); } },
    { rule: 5, id: 'hangs', title: 'hanger', run: () => new Promise(() => {}) },
    { rule: 6, id: 'fine', title: 'fine', run: async () => ({ state: 'ok', reason: 'fine' }) },
  ];
  const card = await runScorecard(ctx, checks, 200);
  const by = Object.fromEntries(card.rules.map((r) => [r.rule, r]));
  assert.equal(by[4].state, 'failing');
  assert.match(by[4].reason, /store is locked/);
  assert.equal(by[5].state, 'failing');
  assert.match(by[5].reason, /did not answer within/);
  assert.equal(by[6].state, 'ok');
});
