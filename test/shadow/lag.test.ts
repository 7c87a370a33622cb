/**
 * Red team w5d: `shadow status` stayed green with the shadow 65 s behind, a hung receiver and a
 * counted apply error. Lag beyond SHADOW_MAX_LAG_SECONDS is a problem while production holds WAL
 * the shadow has not confirmed; an idle production is never "behind".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lagProblem, SHADOW_MAX_LAG_SECONDS } from '../../src/shadow/status.js';

test('lag over the limit with unconfirmed WAL is a problem (apply errors named); idle or recent is not', () => {
  assert.equal(lagProblem(0, 0, 0), null, 'nothing unconfirmed');
  assert.equal(lagProblem(0, 5000, 3), null, 'an idle production: its last commit is old, but nothing is owed');
  assert.equal(lagProblem(8192, SHADOW_MAX_LAG_SECONDS - 1, 0), null, 'within the limit');
  assert.equal(lagProblem(8192, null, 0), null, 'nothing archived yet is reported elsewhere (no base backup / window)');
  assert.match(lagProblem(8192, 65 + SHADOW_MAX_LAG_SECONDS, 0)!, /^the shadow is 185 s behind production \(over 120 s, 8192 bytes of WAL unconfirmed\)/);
  assert.match(lagProblem(1, 400, 2)!, /counted 2 apply error\(s\)/);
});
