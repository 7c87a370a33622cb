/**
 * A CI deploy reaches a locked-down production: deploy issues a short-lived deploy token after the
 * gate and the verified backup, every migration session carries it, so ALTER TABLE … DROP COLUMN
 * succeeds; a direct connection without a token is still refused afterwards, and the token
 * appears nowhere in the audit (only its expiry).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sharedCluster, sql } from '../helpers/pg.js';
import { runCli } from '../helpers/cli.js';
import { migrateFixture, type MigrateFixture } from './fixture.js';
import { applyToStaging } from '../../src/migrate/staging-apply.js';
import { applyMigrations } from '../../src/migrate/apply.js';
import { readMigrations } from '../../src/migrate/files.js';
import { historyTarget } from '../../src/migrate/history.js';
import { requestChange } from '../../src/migrate/request.js';
import { approveChange } from '../../src/migrate/approve.js';
import { connect } from '../../src/pg/client.js';

const cluster = sharedCluster({ name: 'prodguard-test-deploy' });
let fx: MigrateFixture;
after(async () => {
  await fx?.cleanup();
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

test('a CI deploy with DROP COLUMN passes a locked-down production; a direct DROP TABLE is still refused', async () => {
  fx = await migrateFixture(cluster(), 'depld');
  const ctx = fx.ctx();
  await applyToStaging(ctx, 'staging');
  await applyMigrations(ctx.loaded, fx.prodUrl, readMigrations(ctx.loaded).files, { actor: 'setup', changeHash: 'setup', history: historyTarget(ctx.loaded) });
  await sql(fx.prodUrl, `ALTER TABLE items ADD COLUMN legacy text`);
  await sql(fx.stagingUrl, `ALTER TABLE items ADD COLUMN legacy text`);

  const ld = await runCli(['lockdown', 'apply', '--env', 'production'], { cwd: fx.dir, env: { ...fx.env, PRODGUARD_ACTOR: 'alice' } });
  assert.equal(ld.code, 0, ld.stderr);
  const refused = await sql(fx.prodUrl, `ALTER TABLE items DROP COLUMN legacy`).then(() => null, (e: { code?: string }) => e);
  assert.equal(refused?.code, '42501', 'lockdown is in force before the deploy');

  fx.writeMigration('0002_drop_legacy.sql', '-- prodguard-ignore ban-drop-column: legacy is unused since release 12, checked by bob\nALTER TABLE items DROP COLUMN legacy;\n');
  await applyToStaging(ctx, 'staging');
  process.env.PRODGUARD_ACTOR = 'alice';
  try {
    const { change } = await requestChange(fx.ctx(), 'production', { keyFile: fx.keyFile('alice') });
    await approveChange(fx.ctx(), change.hash, { keyFile: fx.keyFile('bob') });
    await approveChange(fx.ctx(), change.hash, { keyFile: fx.keyFile('carol') });
  } finally {
    delete process.env.PRODGUARD_ACTOR;
  }

  const r = await runCli(['migrate', 'deploy', '--env', 'production'], { cwd: fx.dir, env: { ...fx.env, CI: 'true', PRODGUARD_ACTOR: 'ci', PRODGUARD_OIDC_TOKEN: await fx.ciToken() } });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const cols = await sql<{ column_name: string }>(fx.prodUrl, `SELECT column_name FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'legacy'`);
  assert.equal(cols.length, 0, 'the column was dropped by the deploy');

  // The token was issued (its row exists) but is printed and audited nowhere; the audit has its expiry.
  const tokens = await sql<{ kind: string; n: number }>(fx.prodUrl, `SELECT kind, count(*)::int AS n FROM prodguard.lockdown_tokens GROUP BY kind`);
  assert.deepEqual(tokens, [{ kind: 'deploy', n: 1 }]);
  const tail = await runCli(['audit', 'tail', '--json'], { cwd: fx.dir, env: fx.env });
  const issued = (JSON.parse(tail.stdout) as Array<{ action: string; details?: { expiresAt?: string } }>).find((x) => x.action === 'lockdown.deploy-token');
  assert.ok(issued?.details?.expiresAt, 'the token expiry is audited');
  const everything = [r.stdout, r.stderr, tail.stdout, ...filesUnder(join(fx.dir, '.prodguard')).map((f) => readFileSync(f, 'latin1'))].join('\n');
  const [{ token_sha256 }] = await sql<{ token_sha256: string }>(fx.prodUrl, `SELECT token_sha256 FROM prodguard.lockdown_tokens`);
  const leaked = (everything.match(/[0-9a-f]{64}/g) ?? []).filter((s) => createHash('sha256').update(s).digest('hex') === token_sha256);
  assert.deepEqual(leaked, [], 'the token itself is in no output, audit record or state file');

  const c = await connect(fx.prodUrl);
  try {
    await assert.rejects(c.query('DROP TABLE items'), (e: { code?: string; message: string }) => e.code === '42501' && /^prodguard lockdown: /.test(e.message));
  } finally {
    await c.end();
  }
});
