import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeProject, minimalConfig } from '../helpers/cli.js';
import { contextFrom } from '../../src/context.js';
import { loadConfig } from '../../src/config/load.js';
import { checks } from '../../src/status/checks/recovery.js';

const guarantees = checks.find((c) => c.id === 'recovery.guarantees')!;
const drill = checks.find((c) => c.id === 'recovery.drill-recent')!;

function ctxFor(yaml: string) {
  const p = makeProject({ 'prodguard.yaml': yaml });
  return { ctx: contextFrom(loadConfig({ cwd: p.dir })), cleanup: p.cleanup };
}

test('rule 2 says honestly that hosted Supabase has PITR only through the platform add-on', async () => {
  const { ctx, cleanup } = ctxFor(`version: 1
environments:
  production: { kind: production, urlEnv: PRODUCTION_DATABASE_URL, supabaseRef: abcdefghijklmnopqrst }
`);
  try {
    const r = await guarantees.run(ctx);
    assert.equal(r.state, 'missing');
    assert.match(r.reason, /hosted Supabase: PITR only via the platform add-on; prodguard provides logical daily dumps \(RPO ≤ 24 h\)/);
  } finally {
    await ctx.close();
    cleanup();
  }
});

test('rule 2 reports a self-hosted production without PITR as missing, with the command to fix it', async () => {
  const { ctx, cleanup } = ctxFor(minimalConfig());
  try {
    const r = await guarantees.run(ctx);
    assert.equal(r.state, 'missing');
    assert.match(r.reason, /production: no point-in-time recovery \(run `prodguard pitr enable --env production`/);
  } finally {
    await ctx.close();
    cleanup();
  }
});

test('rule 6 is missing before any drill and failing when the last good drill is too old', async () => {
  const { ctx, cleanup } = ctxFor(minimalConfig('drills:\n  interval: 1h\n'));
  try {
    assert.equal((await drill.run(ctx)).state, 'missing');
    const old = new Date(Date.now() - 2 * 3_600_000).toISOString();
    await (await ctx.store()).put('drills', 'd1', { id: 'd1', environment: 'production', backupId: 'b', startedAt: old, finishedAt: old, ok: true, rtoMs: 1200, rpoMs: 5000, tablesChecked: 1, rowCountMismatches: [], smoke: [] });
    const r = await drill.run(ctx);
    assert.equal(r.state, 'failing');
    assert.match(r.reason, /older than drills.interval 1h/);
  } finally {
    await ctx.close();
    cleanup();
  }
});
