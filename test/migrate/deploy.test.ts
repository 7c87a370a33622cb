import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { sharedCluster, sql } from '../helpers/pg.js';
import { runCli } from '../helpers/cli.js';
import { asCi, requestAndApprove, migrateFixture, type MigrateFixture } from './fixture.js';
import { applyToStaging } from '../../src/migrate/staging-apply.js';
import { applyMigrations } from '../../src/migrate/apply.js';
import { readMigrations } from '../../src/migrate/files.js';
import { historyTarget } from '../../src/migrate/history.js';
import { deploy } from '../../src/migrate/deploy.js';
import { verifyDeploy } from '../../src/migrate/verify.js';
import { detectDrift } from '../../src/migrate/drift.js';
import { refreshStaging } from '../../src/migrate/staging-refresh.js';
import { listBackups } from '../../src/backup/index.js';
import { pgBin } from '../../src/pg/binaries.js';

const cluster = sharedCluster({ name: 'prodguard-test-deploy' });
let fx: MigrateFixture;
const EMAILS = ['ann.original@realmail.test', 'ben.original@realmail.test', 'cyd.original@realmail.test'];

let ready: Promise<void> | undefined;
const setup = () =>
  (ready ??= (async () => {
    fx = await migrateFixture(cluster(), 'dep');
    const ctx = fx.ctx();
    await applyToStaging(ctx, 'staging');
    await applyMigrations(ctx.loaded, fx.prodUrl, readMigrations(ctx.loaded).files, { actor: 'setup', changeHash: 'setup', history: historyTarget(ctx.loaded) });
    await sql(fx.prodUrl, `INSERT INTO items (name, price) VALUES ('widget', 5), ('refund', -1)`);
    await sql(fx.prodUrl, `INSERT INTO users (email, full_name, phone) VALUES ${EMAILS.map((e, i) => `('${e}', 'Real Name ${i}', '+44 7700 90012${i}')`).join(', ')}`);
    await sql(fx.stagingUrl, `INSERT INTO items (name, price) VALUES ('widget', 5)`);
    fx.writeMigration('0002_add_sku.sql', 'ALTER TABLE items ADD COLUMN sku text;\n');
    await applyToStaging(ctx, 'staging');
    await requestAndApprove(fx);
  })());

after(async () => {
  await fx?.cleanup();
});



const history = () => sql<{ version: string }>(fx.prodUrl, 'SELECT version FROM prodguard.schema_migrations ORDER BY version');

test('deploy outside CI, or in CI as someone else, is refused and says why; nothing is backed up or applied', async () => {
  await setup();
  const r = await runCli(['migrate', 'deploy', '--env', 'production'], { cwd: fx.dir, env: { ...fx.env, CI: undefined, PRODGUARD_ACTOR: 'bob' } });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /\[ci\] not running in CI/);
  assert.doesNotMatch(r.stderr, /\[approvals\]|\[staging\]/, 'the other checks hold and are not listed');
  const r2 = await runCli(['migrate', 'deploy', '--env', 'production'], { cwd: fx.dir, env: { ...fx.env, CI: 'true', PRODGUARD_ACTOR: 'bob' } });
  assert.equal(r2.code, 1);
  // CI=true without the platform's token proves nothing (it used to pass with PRODGUARD_ACTOR=ci).
  assert.match(r2.stderr, /\[ci\] not running in CI: no OIDC token from the CI platform \(CI=true alone is not proof/);
  const r3 = await runCli(['migrate', 'deploy', '--env', 'production'], { cwd: fx.dir, env: { ...fx.env, CI: 'true', PRODGUARD_ACTOR: 'ci' } });
  assert.equal(r3.code, 1);
  assert.match(r3.stderr, /\[ci\] not running in CI/);
  assert.equal((await listBackups(fx.ctx())).length, 0);
  assert.deepEqual((await history()).map((h) => h.version), ['0001']);
  const audit = fx.ctx().auditLog.read().filter((a) => a.action === 'migrate.deploy');
  assert.equal(audit.at(-1)?.verdict, 'refused');
});

test('deploy from CI with approvals and a staging pass: verified backup first, applied, history written, verified equal to staging', async () => {
  await setup();
  const r = await asCi(fx, () => deploy(fx.ctx(), 'production', { verifyScratchUrl: cluster().url() }));
  assert.deepEqual(r.applied.map((a) => a.file), ['0002_add_sku.sql']);
  assert.ok(r.backupId);
  const backups = await listBackups(fx.ctx());
  assert.equal(backups.length, 1);
  assert.equal(backups[0].verified?.ok, true);
  assert.equal(backups[0].id, r.backupId);
  assert.deepEqual((await history()).map((h) => h.version), ['0001', '0002']);
  assert.equal(r.verification?.ok, true, r.verification?.lines.join('\n'));
  const hist = await sql<{ applied_by: string; change_hash: string }>(fx.prodUrl, `SELECT applied_by, change_hash FROM prodguard.schema_migrations WHERE version = '0002'`);
  assert.equal(hist[0].applied_by, 'oidc:repo:acme/app:environment:production', 'history names the identity the CI platform proved');
  assert.equal(hist[0].change_hash, r.changeHash);
});

test('a change that never passed staging is refused; once it passed, a migration failing halfway on production rolls back and names the backup', async () => {
  await setup();
  fx.writeMigration(
    '0003_price_check.sql',
    `CREATE TABLE price_log (id bigint PRIMARY KEY, note text);
-- prodguard-ignore constraint-missing-not-valid: items is small, validating is instant
ALTER TABLE items ADD CONSTRAINT price_positive CHECK (price > 0);
`,
  );
  await requestAndApprove(fx);
  await assert.rejects(
    asCi(fx, () => deploy(fx.ctx(), 'production', { verifyScratchUrl: cluster().url() })),
    /\[staging\] never passed on staging with this content: 0003_price_check\.sql/,
  );
  await applyToStaging(fx.ctx(), 'staging'); // staging has no negative price: passes
  let err: Error | undefined;
  await asCi(fx, () => deploy(fx.ctx(), 'production', { verifyScratchUrl: cluster().url() })).catch((e: Error) => (err = e));
  assert.ok(err, 'deploy should fail on production data');
  const backups = await listBackups(fx.ctx());
  assert.equal(backups.length, 2);
  const id = backups[0].id;
  assert.match(err!.message, /migration 0003_price_check\.sql failed: .*price_positive.*rolled back/);
  assert.ok(err!.message.includes(`Pre-migration backup: ${id}`), err!.message);
  assert.ok(err!.message.includes(`prodguard restore ${id}`), err!.message);
  assert.deepEqual((await history()).map((h) => h.version), ['0001', '0002'], 'history unchanged');
  const t = await sql<{ t: string | null }>(fx.prodUrl, `SELECT to_regclass('public.price_log')::text AS t`);
  assert.equal(t[0].t, null, 'the first statement of the failed migration was rolled back');
  const audit = fx.ctx().auditLog.read();
  assert.ok(audit.some((a) => a.action === 'migrate.lint-suppressed' && /constraint-missing-not-valid.*validating is instant/.test(a.reason)));
  assert.equal(audit.filter((a) => a.action === 'migrate.deploy').at(-1)?.verdict, 'failed');
});

test('a CI token is good for one deploy: a captured, still-valid token replayed is refused before any backup (red team ap-067)', async () => {
  await setup();
  const token = await fx.ciToken();
  const jti = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).jti as string;
  // First use: the gate passes and production records the token (0003 then fails on production's data, as above).
  await assert.rejects(asCi(fx, () => deploy(fx.ctx(), 'production', { verifyScratchUrl: cluster().url() }), 'ci', token), /price_positive/);
  const used = await sql<{ token_id: string; subject: string }>(fx.prodUrl, 'SELECT token_id, subject FROM prodguard.ci_token_use');
  assert.ok(used.some((u) => u.token_id === `jti:${jti}` && u.subject === 'repo:acme/app:environment:production'), JSON.stringify(used));
  const backups = (await listBackups(fx.ctx())).length;
  await assert.rejects(
    asCi(fx, () => deploy(fx.ctx(), 'production', { verifyScratchUrl: cluster().url() }), 'ci', token),
    /refused: \[ci\] this CI token was already used for a deploy at \d{4}-\d\d-\d\dT[^ ]+ for change [0-9a-f]{12}/,
  );
  assert.equal((await listBackups(fx.ctx())).length, backups, 'a replay takes no backup and applies nothing');
  const last = fx.ctx().auditLog.read().filter((a) => a.action === 'migrate.deploy').at(-1);
  assert.equal(last?.verdict, 'refused');
  assert.doesNotMatch(JSON.stringify(last), new RegExp(token.split('.')[2].slice(0, 20)), 'the token itself is never audited');
  // A token the platform issues for the next job is new, and passes the gate again.
  await assert.rejects(asCi(fx, () => deploy(fx.ctx(), 'production', { verifyScratchUrl: cluster().url() })), /price_positive/);
});

test('a change with an unsuppressed lint error is refused, listing the rule', async () => {
  await setup();
  fx.writeMigration('0004_drop_users.sql', 'DROP TABLE users;\n');
  try {
    await requestAndApprove(fx);
    await assert.rejects(asCi(fx, () => deploy(fx.ctx(), 'production', { verifyScratchUrl: cluster().url() })), (e: Error) => {
      assert.match(e.message, /\[lint\] 1 lint error\(s\): 0004_drop_users\.sql:1 ban-drop-table/);
      assert.match(e.message, /\[staging\] never passed on staging with this content: 0004_drop_users\.sql/);
      return true;
    });
    const p = await runCli(['migrate', 'plan', '--env', 'production', '--json'], { cwd: fx.dir, env: fx.env });
    assert.equal(p.code, 0, p.stderr);
    const plan = JSON.parse(p.stdout);
    assert.equal(plan.risk, 'high');
    assert.deepEqual(plan.pending.map((x: { file: string }) => x.file), ['0003_price_check.sql', '0004_drop_users.sql']);
  } finally {
    fx.removeMigration('0004_drop_users.sql');
  }
});

test('drift made by hand on production is detected and listed; verify lists it too', async () => {
  await setup();
  await sql(fx.prodUrl, `ALTER TABLE items ADD COLUMN hacked text; CREATE INDEX items_name_idx ON items (name)`);
  const drift = await detectDrift(fx.ctx());
  const prod = drift.find((d) => d.environment === 'production')!;
  const stag = drift.find((d) => d.environment === 'staging')!;
  assert.equal(prod.replayed, 2);
  assert.ok(prod.lines.some((l) => /column public\.items\.hacked: in production, not in the migrations/.test(l)), prod.lines.join('\n'));
  assert.ok(prod.lines.some((l) => /index public\.items_name_idx/.test(l)), prod.lines.join('\n'));
  assert.equal(prod.differences.length, 2, prod.lines.join('\n'));
  assert.equal(stag.replayed, 3);
  assert.deepEqual(stag.lines, [], 'staging matches its migrations');
  const v = await verifyDeploy(fx.ctx(), 'production');
  assert.equal(v.ok, false);
  assert.ok(v.lines.some((l) => /items\.hacked/.test(l)));
  assert.ok(v.lines.some((l) => /table public\.price_log: in staging, missing in production/.test(l)), v.lines.join('\n'));
});

test('staging refresh restores the latest verified production backup masked: no original email remains in staging', async () => {
  await setup();
  const noYes = await runCli(['staging', 'refresh'], { cwd: fx.dir, env: fx.env });
  assert.equal(noYes.code, 2);
  assert.match(noYes.stderr, /pass --yes/);
  const r = await refreshStaging(fx.ctx(), { yes: true });
  assert.equal(r.environment, 'staging');
  assert.equal(r.from, 'production');
  const users = await sql<{ email: string; full_name: string; phone: string }>(fx.stagingUrl, 'SELECT email, full_name, phone FROM users ORDER BY id');
  assert.equal(users.length, EMAILS.length);
  for (const u of users) {
    assert.match(u.email, /^user_[0-9a-f]{16}@example\.invalid$/);
    assert.match(u.full_name, /^Person [0-9A-F]{8}$/);
    assert.match(u.phone, /^\+1555\d{7}$/);
  }
  assert.equal(new Set(users.map((u) => u.email)).size, EMAILS.length);
  const dump = spawnSync(pgBin('pg_dump'), ['--data-only', `--dbname=${fx.stagingUrl}`], { encoding: 'utf8' });
  assert.equal(dump.status, 0, dump.stderr);
  for (const e of EMAILS) assert.ok(!dump.stdout.includes(e), `${e} still in staging`);
  assert.ok(!dump.stdout.includes('Real Name'));
  // Deterministic: a second refresh gives the same masked values.
  await refreshStaging(fx.ctx(), { yes: true });
  const again = await sql<{ email: string }>(fx.stagingUrl, 'SELECT email FROM users ORDER BY id');
  assert.deepEqual(again.map((u) => u.email), users.map((u) => u.email));
  // Staging pointing at production's database is refused.
  await fx.updateConfig((raw) => {
    raw.environments.staging.urlEnv = 'DEP_PROD_URL';
  });
  try {
    await assert.rejects(refreshStaging(fx.ctx(), { yes: true }), /resolves to production|same database as production/);
    await assert.rejects(applyToStaging(fx.ctx(), 'staging'), /resolves to production|same database as production/);
  } finally {
    await fx.updateConfig((raw) => {
      raw.environments.staging.urlEnv = 'DEP_STAGING_URL';
    });
  }
});

test('migrate apply refuses production', async () => {
  await setup();
  const r = await runCli(['migrate', 'apply', '--env', 'production'], { cwd: fx.dir, env: fx.env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /is production: use `prodguard migrate deploy --env production` from CI/);
});

test('staging refresh fails closed: a masking rule that cannot run removes the restored data again', async () => {
  await setup();
  await fx.updateConfig((raw) => {
    raw.staging.masking.push({ table: 'users', column: 'no_such_column', strategy: 'text' });
  });
  try {
    const before = await sql<{ email: string }>(fx.stagingUrl, 'SELECT email FROM users ORDER BY id');
    await assert.rejects(refreshStaging(fx.ctx(), { yes: true }), /staging refresh of staging failed; staging is unchanged and the unmasked copy was dropped: .*no_such_column/);
    // Issue #20: the old staging stays as it was (no empty staging), and no unmasked copy stays anywhere on the server.
    const after = await sql<{ email: string }>(fx.stagingUrl, 'SELECT email FROM users ORDER BY id');
    assert.deepEqual(after, before, 'staging is unchanged by a failed refresh');
    for (const e of EMAILS) assert.ok(!after.some((u) => u.email === e), 'no unmasked user in staging');
    const side = await sql<{ datname: string }>(fx.prodUrl, `SELECT datname FROM pg_database WHERE datname LIKE '%\\_\\_pgref\\_%'`);
    assert.deepEqual(side, [], 'the private copy was dropped');
    assert.equal(fx.ctx().auditLog.read().filter((a) => a.action === 'staging.refresh').at(-1)?.verdict, 'failed');
  } finally {
    await fx.updateConfig((raw) => {
      raw.staging.masking.pop();
    });
  }
});
