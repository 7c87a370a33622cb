/**
 * The signed staging masking terms (red team w5c-044), as pure functions: what counts as masked
 * whole, partly or kept; which configured rules need a signature; which signed rules are missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maskingTermsDifference, maskingTermsFromRules, removedMasking, ruleKind, unsignedMasking, type MaskingTerms } from '../../src/policy/masking-terms.js';
import type { MaskRule } from '../../src/migrate/masking.js';

const r = (table: string, column: string, strategy: MaskRule['strategy'], paths?: string[]): MaskRule => ({ table, column, strategy, ...(paths ? { paths } : {}), ...(strategy === 'keep' ? { reason: 'x' } : {}) });

test('kinds: whole strategies without paths and null are whole; scrub and any paths are partial; keep is kept', () => {
  for (const s of ['email', 'name', 'phone', 'hash', 'text', 'null'] as const) assert.equal(ruleKind(r('t', 'c', s)), 'whole', s);
  assert.equal(ruleKind(r('t', 'c', 'null', ['$.a'])), 'whole', 'null ignores paths');
  assert.equal(ruleKind(r('t', 'c', 'scrub')), 'partial');
  assert.equal(ruleKind(r('t', 'c', 'email', ['$.a'])), 'partial');
  assert.equal(ruleKind(r('t', 'c', 'keep')), 'kept');
});

test('terms: columns by schema-qualified identity, partial rules with sorted paths, sorted and unique', () => {
  const t = maskingTermsFromRules([
    r('customers', 'email', 'email'),
    r('public.customers', 'email', 'hash'),
    r('auth.users', 'profile', 'name', ['$.z', '$.a', '$.a']),
    r('auth.users', 'notes', 'scrub'),
    r('audit_log', 'row_data', 'keep'),
  ]);
  assert.deepEqual(t, {
    masked: ['public.customers.email'],
    partial: ['auth.users.notes scrub', 'auth.users.profile name at $.a,$.z'],
    kept: ['public.audit_log.row_data'],
  });
});

test('unsigned: keep, scrub and paths need the signature; masking whole or more than signed does not', () => {
  const signed: MaskingTerms = { masked: ['public.c.name'], partial: ['public.c.doc email at $.e', 'public.c.notes scrub'], kept: ['public.c.id'] };
  assert.deepEqual(unsignedMasking(signed, [r('c', 'name', 'keep')]), ['public.c.name (configured: keep; signed: masked whole)']);
  assert.deepEqual(unsignedMasking(signed, [r('c', 'name', 'scrub')]), ['public.c.name (configured: scrub; signed: masked whole)']);
  assert.deepEqual(unsignedMasking(signed, [r('c', 'doc', 'email', ['$.x'])]), ['public.c.doc (configured: email at $.x; signed: email at $.e)']);
  assert.deepEqual(unsignedMasking(signed, [r('c', 'other', 'keep')]), ['public.c.other (configured: keep; signed: nothing)']);
  // Fine: whole masking anywhere, signed keep (or more than keep), signed partial rules plus extras, keep next to them.
  assert.deepEqual(unsignedMasking(signed, [r('c', 'name', 'hash'), r('c', 'new', 'email'), r('c', 'id', 'keep'), r('c', 'id', 'scrub')]), []);
  assert.deepEqual(unsignedMasking(signed, [r('c', 'doc', 'email', ['$.e']), r('c', 'doc', 'name', ['$.n']), r('c', 'notes', 'scrub'), r('c', 'notes', 'keep')]), []);
  assert.deepEqual(unsignedMasking(signed, [r('c', 'doc', 'null', ['$.x'])]), [], 'null masks whole whatever its paths');
  // Nothing signed (no policy, or one from before): only whole masking passes.
  assert.deepEqual(unsignedMasking(undefined, [r('c', 'a', 'email'), r('c', 'b', 'null')]), []);
  assert.equal(unsignedMasking(undefined, [r('c', 'a', 'scrub'), r('c', 'b', 'keep')]).length, 2);
});

test('removed: a signed column with no configured rule, among the columns that exist', () => {
  const signed: MaskingTerms = { masked: ['public.c.name', 'public.c.gone'], partial: ['public.c.notes scrub'], kept: ['public.c.id'] };
  const exist = new Set(['public.c.name', 'public.c.notes', 'public.c.id']);
  assert.deepEqual(removedMasking(signed, [], exist), ['public.c.name (signed: masked whole; configured: no rule)', 'public.c.notes (signed: scrub; configured: no rule)']);
  assert.deepEqual(removedMasking(signed, [r('c', 'name', 'email'), r('c', 'notes', 'text')], exist), []);
  assert.deepEqual(removedMasking(undefined, [], exist), []);
});

test('difference: one line, null when equal', () => {
  const t = maskingTermsFromRules([r('c', 'a', 'email'), r('c', 'k', 'keep')]);
  assert.equal(maskingTermsDifference(t, t), null);
  assert.match(maskingTermsDifference(undefined, t)!, /signs no staging masking yet/);
  assert.equal(maskingTermsDifference(t, maskingTermsFromRules([r('c', 'a', 'email'), r('c', 'k', 'keep'), r('c', 'b', 'hash')])), 'masked whole, not in the policy: public.c.b');
});
