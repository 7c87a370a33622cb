/** The command audit wrapper (src/cli/audited.ts): one record per outcome, the typed command line, failures only when asked. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openContext } from '../../src/context.js';
import { audited, commandLine } from '../../src/cli/audited.js';
import { RefusedError } from '../../src/errors.js';
import { makeProject, minimalConfig } from '../helpers/cli.js';

async function withProject(fn: (ctx: ReturnType<typeof openContext>) => Promise<void>): Promise<void> {
  const p = makeProject({ 'prodguard.yaml': minimalConfig() });
  const ctx = openContext({ cwd: p.dir });
  try {
    await fn(ctx);
  } finally {
    await ctx.close();
    p.cleanup();
  }
}

test('a successful action is recorded once, with its outcome, target from the result and the command line', async () => {
  await withProject(async (ctx) => {
    const r = await audited(ctx, { action: 'x.run', target: (v: { env: string }) => v.env, outcome: (v) => ({ verdict: 'failed', reason: `n=${v.n}`, details: { n: v.n } }) }, async () => ({ env: 'staging', n: 3 }));
    assert.deepEqual(r, { env: 'staging', n: 3 });
    const recs = ctx.auditLog.read();
    assert.equal(recs.length, 1);
    assert.equal(recs[0].action, 'x.run');
    assert.equal(recs[0].target, 'staging');
    assert.equal(recs[0].verdict, 'failed');
    assert.equal(recs[0].reason, 'n=3');
    assert.deepEqual(recs[0].details, { n: 3 });
    assert.equal(recs[0].command, commandLine());
  });
});

test('a failing action is not recorded unless recordFailure; then once, with the error and no secret', async () => {
  await withProject(async (ctx) => {
    const boom = () => Promise.reject(new RefusedError('cannot reach postgresql://app:hunter2@db.example/app'));
    await assert.rejects(audited(ctx, { action: 'x.quiet', target: 'production', outcome: () => ({ reason: 'never' }) }, boom), /cannot reach/);
    assert.equal(ctx.auditLog.read().length, 0);
    await assert.rejects(audited(ctx, { action: 'x.loud', target: 'production', outcome: () => ({ reason: 'never' }), recordFailure: true }, boom), RefusedError);
    const recs = ctx.auditLog.read();
    assert.equal(recs.length, 1);
    assert.equal(recs[0].verdict, 'failed');
    assert.equal(recs[0].target, 'production');
    assert.match(recs[0].reason, /^cannot reach postgresql:\/\/app:\*+@db\.example\/app$/);
  });
});

test('the command line is prodguard followed by the arguments as given', () => {
  assert.equal(commandLine(['lockdown', 'apply', '--env', 'production']), 'prodguard lockdown apply --env production');
});
