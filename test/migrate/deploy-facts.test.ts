/**
 * Status rule 5 takes production's own facts, not the team store's deploy documents (red team
 * ap-054): the store is writable by every developer; production's CI token claims
 * (prodguard.ci_token_use) and verification records (prodguard.deploy_verification) are written
 * only by the deploy job. Real clusters, a real team store, the loopback OIDC issuer.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedCluster, sql, createDatabase } from '../helpers/pg.js';
import { runCli } from '../helpers/cli.js';
import { asCi, requestAndApprove, migrateFixture, type MigrateFixture } from './fixture.js';
import { applyToStaging } from '../../src/migrate/staging-apply.js';
import { applyMigrations } from '../../src/migrate/apply.js';
import { readMigrations } from '../../src/migrate/files.js';
import { historyTarget } from '../../src/migrate/history.js';
import { deploy } from '../../src/migrate/deploy.js';
import { verifyDeploy } from '../../src/migrate/verify.js';
import { checks } from '../../src/status/checks/migrate.js';
import type { CheckResult } from '../../src/status/types.js';

const cluster = sharedCluster({ name: 'prodguard-test-deploy-facts' });
let fx: MigrateFixture;
let teamUrl: string;
/** The change of the first, verified deploy. */
let firstChange = '';

let ready: Promise<void> | undefined;
const setup = () =>
  (ready ??= (async () => {
    teamUrl = await createDatabase(cluster(), 'dfacts_team');
    process.env.DFACTS_TEAM_URL = teamUrl;
    fx = await migrateFixture(cluster(), 'dfacts', {
      mutateConfig: (raw) => {
        raw.state = { store: 'postgres', urlEnv: 'DFACTS_TEAM_URL' };
      },
    });
    // `prodguard migrate ci --github` was run: rule 5's first half holds.
    mkdirSync(join(fx.dir, '.github/workflows'), { recursive: true });
    writeFileSync(join(fx.dir, '.github/workflows/prodguard.yml'), 'name: prodguard\n');
    const ctx = fx.ctx();
    await applyToStaging(ctx, 'staging');
    await applyMigrations(ctx.loaded, fx.prodUrl, readMigrations(ctx.loaded).files, { actor: 'setup', changeHash: 'setup', history: historyTarget(ctx.loaded) });
    fx.writeMigration('0002_add_sku.sql', 'ALTER TABLE items ADD COLUMN sku text;\n');
    await applyToStaging(ctx, 'staging');
    await requestAndApprove(fx);
  })());

after(async () => {
  await fx?.cleanup();
  delete process.env.DFACTS_TEAM_URL;
});



const rule5 = (): Promise<CheckResult> => checks.find((c) => c.id === 'migrate.ci')!.run(fx.ctx());

test('legit path: a real CI deploy (OIDC token claimed in production, verified there) makes rule 5 green from production\'s own facts', async () => {
  await setup();
  const r = await asCi(fx, () => deploy(fx.ctx(), 'production', { verifyScratchUrl: cluster().url() }));
  assert.equal(r.verification?.ok, true, r.verification?.lines.join('\n'));
  assert.equal(r.verification?.productionRecordProblem, null, 'the deploy job recorded the outcome in production');
  firstChange = r.changeHash;
  const rows = await sql<{ change_hash: string; ok: boolean }>(fx.prodUrl, 'SELECT change_hash, ok FROM prodguard.deploy_verification');
  assert.deepEqual(rows, [{ change_hash: r.changeHash, ok: true }]);
  // Its audit records name the identity the verified token proved, not PRODGUARD_ACTOR=ci (ap-082).
  const recs = fx.ctx().auditLog.read();
  const ok = recs.filter((a) => a.action === 'migrate.deploy' && a.verdict === 'ok').at(-1);
  assert.equal(ok?.actor, 'oidc:repo:acme/app:environment:production');
  assert.equal(ok?.actorSource, 'ci-token');
  assert.equal(recs.filter((a) => a.action === 'migrate.verify').at(-1)?.actorSource, 'ci-token', 'the verification inside the deploy too');
  assert.equal(recs.filter((a) => a.action === 'migrate.request').at(-1)?.actorSource, 'signature');
  const res = await rule5();
  assert.equal(res.state, 'ok', res.reason);
  assert.match(res.reason, new RegExp(`production: last deploy ${r.changeHash.slice(0, 12)} confirmed by production's CI token claim \\([^)]+\\), verified \\(production's own record, `));
});

test('red team ap-054 replayed: a copy of the last deploy document with verified={ok:true} and a newer time does not turn rule 5 green', async () => {
  await setup();
  // The next deploy passes the gate and applies, then fails verification (a health check fails on production).
  fx.writeMigration('0003_notes.sql', 'CREATE TABLE notes (id bigint PRIMARY KEY, body text);\n');
  await applyToStaging(fx.ctx(), 'staging');
  await requestAndApprove(fx);
  await fx.updateConfig((raw) => {
    raw.migrations.healthChecks = [{ name: 'notes seeded', sql: 'SELECT count(*) FROM notes', expect: 1 }];
  });
  const failed = await asCi(fx, () => deploy(fx.ctx(), 'production', { verifyScratchUrl: cluster().url() }));
  assert.equal(failed.verification?.ok, false);
  const before = await rule5();
  assert.equal(before.state, 'failing', before.reason);
  assert.match(before.reason, /FAILED verification \(production's own record, .*0 schema difference\(s\), 1 health check failure\(s\)\)/);

  // The attack, as the red team ran it: psql on the team store, a copy of the last 'migrate-deploys'
  // document with verified={ok:true, differences:0} and a newer time.
  const now = new Date(Date.now() + 1000).toISOString();
  await sql(
    teamUrl,
    `INSERT INTO prodguard_state.documents (collection, id, created_at, updated_at, body)
     SELECT collection, id || ':copy', '${now}', '${now}',
            jsonb_set(jsonb_set(body, '{at}', to_jsonb('${now}'::text)), '{verified}', jsonb_build_object('ok', true, 'at', '${now}', 'differences', 0, 'healthFailures', 0))
       FROM prodguard_state.documents WHERE collection = 'migrate-deploys' AND body->>'outcome' = 'deployed'
      ORDER BY created_at DESC LIMIT 1`,
  );
  const forgedId = `production:${failed.changeHash}:`;
  const res = await rule5();
  assert.equal(res.state, 'failing', res.reason);
  assert.match(res.reason, /FAILED verification \(production's own record/);
  assert.ok(res.reason.includes(`the team store's deploy record ${forgedId}`) && res.reason.includes(':copy (change'), res.reason);
  assert.match(res.reason, /verified\) contradicts production's record/);
  // The same through the CLI, as the red team ran it.
  const cli = await runCli(['status', '--json'], { cwd: fx.dir, env: { ...fx.env, DFACTS_TEAM_URL: teamUrl } });
  const card = JSON.parse(cli.stdout) as { rules: Array<{ rule: number; state: string; checks: Array<{ id: string; state: string; reason: string }> }> };
  const rule = card.rules.find((x) => x.rule === 5)!;
  const ci = rule.checks.find((x) => x.id === 'migrate.ci');
  assert.equal(ci?.state, 'failing', JSON.stringify(rule));
  assert.notEqual(rule.state, 'ok');
  assert.match(ci!.reason, /contradicts production's record/);
});

test('ap-054 variant: a copy of an older, really verified deploy record with a newer time still reads production\'s newest verification (failed)', async () => {
  await setup();
  assert.ok(firstChange);
  const now = new Date(Date.now() + 1500).toISOString();
  await sql(
    teamUrl,
    `INSERT INTO prodguard_state.documents (collection, id, created_at, updated_at, body)
     SELECT collection, id || ':old-copy', $2, $2, jsonb_set(body, '{at}', to_jsonb($2::text))
       FROM prodguard_state.documents WHERE collection = 'migrate-deploys' AND body->>'changeHash' = $1 AND body->>'outcome' = 'deployed'`,
    [firstChange, now],
  );
  const res = await rule5();
  assert.equal(res.state, 'failing', res.reason);
  assert.match(res.reason, new RegExp(`last deploy ${firstChange.slice(0, 12)} confirmed by production's CI token claim .*FAILED verification \\(production's own record of change [0-9a-f]{12}, `));
  assert.match(res.reason, /production's newest CI token claim is for a later change [0-9a-f]{12}/);
  await sql(teamUrl, `DELETE FROM prodguard_state.documents WHERE id LIKE '%:old-copy'`);
});

test('a deploy document for a change production never claimed a CI token for is unconfirmed, named by its id', async () => {
  await setup();
  const now = new Date(Date.now() + 2000).toISOString();
  const id = `production:${'f'.repeat(64)}:1`;
  await sql(
    teamUrl,
    `INSERT INTO prodguard_state.documents (collection, id, created_at, updated_at, body) VALUES ('migrate-deploys', $1, $2, $2, $3)`,
    [id, now, JSON.stringify({ changeHash: 'f'.repeat(64), environment: 'production', actor: 'ci', at: now, backupId: null, migrations: [], approvers: ['bob', 'carol'], outcome: 'deployed', verified: { ok: true, at: now, differences: 0, healthFailures: 0 } })],
  );
  const res = await rule5();
  assert.equal(res.state, 'failing', res.reason);
  assert.ok(res.reason.includes(`last deploy unconfirmed: the team store's deploy record ${id} (change ffffffffffff, verified) has no matching CI token claim in production`), res.reason);
  await sql(teamUrl, `DELETE FROM prodguard_state.documents WHERE id = $1`, [id]);
});

test('production unreadable from where status runs: the store\'s deploy record is unconfirmed, never green', async () => {
  await setup();
  const saved = process.env.DFACTS_PROD_URL;
  try {
    delete process.env.DFACTS_PROD_URL;
    const none = await rule5();
    assert.equal(none.state, 'missing', none.reason);
    assert.match(none.reason, /production: last deploy unconfirmed: cannot read production's own record \(no connection configured here\); the team store's deploy record .* is not evidence/);
    process.env.DFACTS_PROD_URL = 'postgresql://prodguard@127.0.0.1:1/nothing?connect_timeout=2';
    const down = await rule5();
    assert.equal(down.state, 'missing', down.reason);
    assert.match(down.reason, /last deploy unconfirmed: cannot read production's own record \(cannot connect to /);
  } finally {
    process.env.DFACTS_PROD_URL = saved;
  }
});

test('a verify run with read-only production credentials updates only the store: rule 5 stays failing; the deploy credentials\' verify turns it green', async () => {
  await setup();
  await fx.updateConfig((raw) => {
    raw.migrations.healthChecks = [];
  });
  // A developer's laptop: production readable, not writable.
  await sql(fx.prodUrl, `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dfacts_reader') THEN CREATE ROLE dfacts_reader LOGIN; END IF; END $$`);
  await sql(fx.prodUrl, 'GRANT USAGE ON SCHEMA public, prodguard TO dfacts_reader; GRANT SELECT ON ALL TABLES IN SCHEMA public, prodguard TO dfacts_reader');
  const saved = process.env.DFACTS_PROD_URL!;
  process.env.DFACTS_PROD_URL = cluster().url('dfacts_prod', 'dfacts_reader');
  try {
    const laptop = await verifyDeploy(fx.ctx(), 'production');
    assert.equal(laptop.ok, true, laptop.lines.join('\n'));
    assert.match(laptop.productionRecordProblem ?? '', /permission denied/);
    const res = await rule5();
    assert.equal(res.state, 'failing', res.reason);
    assert.match(res.reason, /FAILED verification \(production's own record/);
  } finally {
    process.env.DFACTS_PROD_URL = saved;
  }
  const v = await verifyDeploy(fx.ctx(), 'production');
  assert.equal(v.ok, true, v.lines.join('\n'));
  assert.equal(v.productionRecordProblem, null);
  const res = await rule5();
  assert.equal(res.state, 'ok', res.reason);
  assert.match(res.reason, /verified \(production's own record/);
});
