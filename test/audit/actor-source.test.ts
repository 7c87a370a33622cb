/**
 * The audit actor is marked unless it was verified (red team ap-082): PRODGUARD_ACTOR, git and the
 * OS user name people, they do not prove who acted. Records say where their actor came from;
 * `audit search`, `audit tail` and the dashboard mark the self-declared ones. Real clusters, a
 * real team store, the CLI as people run it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedCluster, createDatabase } from '../helpers/pg.js';
import { runCli } from '../helpers/cli.js';
import { migrateFixture, type MigrateFixture } from '../migrate/fixture.js';
import { applyToStaging } from '../../src/migrate/staging-apply.js';
import { applyMigrations } from '../../src/migrate/apply.js';
import { readMigrations } from '../../src/migrate/files.js';
import { historyTarget } from '../../src/migrate/history.js';
import { requestChange } from '../../src/migrate/request.js';
import { approveChange } from '../../src/migrate/approve.js';
import { GENESIS, recordHash, type AuditRecord } from '../../src/audit/log.js';
import { auditPage } from '../../src/server/http/pages.js';

const cluster = sharedCluster({ name: 'prodguard-test-actor-source' });
let fx: MigrateFixture;
let env: Record<string, string>;

let ready: Promise<void> | undefined;
const setup = () =>
  (ready ??= (async () => {
    const team = await createDatabase(cluster(), 'actsrc_team');
    process.env.ACTSRC_TEAM_URL = team;
    fx = await migrateFixture(cluster(), 'actsrc', {
      mutateConfig: (raw) => {
        raw.state = { store: 'postgres', urlEnv: 'ACTSRC_TEAM_URL' };
      },
    });
    env = { ...fx.env, ACTSRC_TEAM_URL: team, CI: undefined as unknown as string };
    await applyMigrations(fx.ctx().loaded, fx.prodUrl, readMigrations(fx.ctx().loaded).files, { actor: 'setup', changeHash: 'setup', history: historyTarget(fx.ctx().loaded) });
    await applyToStaging(fx.ctx(), 'staging');
  })());

after(async () => {
  await fx?.cleanup();
  delete process.env.ACTSRC_TEAM_URL;
});

type Marked = AuditRecord & { actorSource: string; actorVerified: boolean };
const search = async (...args: string[]): Promise<Marked[]> => {
  const r = await runCli(['audit', 'search', ...args, '--json'], { cwd: fx.dir, env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Marked[];
};

test('red team ap-082 replayed: PRODGUARD_ACTOR=bob — audit search --person bob shows every record as bob (self-declared), text and JSON', async () => {
  await setup();
  fx.writeMigration('0002_add_sku.sql', 'ALTER TABLE items ADD COLUMN sku text;\n');
  const apply = await runCli(['migrate', 'apply', '--env', 'staging'], { cwd: fx.dir, env: { ...env, PRODGUARD_ACTOR: 'bob' } });
  assert.equal(apply.code, 0, apply.stderr);
  const check = await runCli(['check', 'psql $ACTSRC_PROD_URL -c "drop table customers"'], { cwd: fx.dir, env: { ...env, PRODGUARD_ACTOR: 'bob' } });
  assert.notEqual(check.code, 0, 'the guard refuses a drop in production');
  // alice's name, dave's (a developer's) key: refused, and the refusal is not alice's to claim.
  const glass = await runCli(['break-glass', '--env', 'production', '--reason', 'drop customers', '--key', fx.keyFile('dave')], { cwd: fx.dir, env: { ...env, PRODGUARD_ACTOR: 'alice' } });
  assert.notEqual(glass.code, 0);

  const bob = await search('--person', 'bob');
  assert.ok(bob.some((r) => r.action === 'migrate.apply') && bob.some((r) => r.action.startsWith('guard.')), JSON.stringify(bob.map((r) => r.action)));
  for (const r of bob) {
    assert.equal(r.actor, 'bob');
    assert.equal(r.actorVerified, false, JSON.stringify(r));
    assert.equal(r.actorSource, 'PRODGUARD_ACTOR');
  }
  const text = await runCli(['audit', 'search', '--person', 'bob'], { cwd: fx.dir, env });
  assert.equal(text.code, 0, text.stderr);
  const rows = text.stdout.split('\n').filter((l) => /migrate\.apply|guard\./.test(l));
  assert.ok(rows.length >= 2, text.stdout);
  for (const row of rows) assert.match(row, /\bbob \(self-declared\)/);
  const alice = (await search('--person', 'alice')).filter((r) => r.action === 'break-glass.open');
  assert.equal(alice.length, 1);
  assert.equal(alice[0].verdict, 'refused');
  assert.equal(alice[0].actorVerified, false);
  // The team store's copy (what other machines search) carries the same mark: the field is part of the record.
  const tail = await runCli(['audit', 'tail', '-n', '3'], { cwd: fx.dir, env });
  assert.match(tail.stdout, /alice \(self-declared\)/);
  const page = await auditPage(fx.ctx(), { actor: 'bob' });
  assert.match(page.body, /bob <span class="muted" data-actor-source="PRODGUARD_ACTOR">\(self-declared\)<\/span>/);
});

test('a signed request and approval are verified: the actor is the key\'s member, whatever PRODGUARD_ACTOR says; old records without the field stay self-declared and the chain stays intact', async () => {
  await setup();
  process.env.PRODGUARD_ACTOR = 'mallory';
  try {
    const { change } = await requestChange(fx.ctx(), 'production', { keyFile: fx.keyFile('alice') });
    await approveChange(fx.ctx(), change.hash, { keyFile: fx.keyFile('bob') });
  } finally {
    delete process.env.PRODGUARD_ACTOR;
  }
  const bob = (await search('--person', 'bob')).filter((r) => r.action === 'migrate.approve');
  assert.equal(bob.length, 1);
  assert.equal(bob[0].actorSource, 'signature');
  assert.equal(bob[0].actorVerified, true);
  const req = (await search('--person', 'alice')).filter((r) => r.action === 'migrate.request' && r.verdict === 'ok');
  assert.equal(req[0]?.actorVerified, true, JSON.stringify(req));
  const text = await runCli(['audit', 'search', '--action', 'migrate.approve'], { cwd: fx.dir, env });
  assert.match(text.stdout, / bob +migrate\.approve/);
  assert.doesNotMatch(text.stdout, /bob \(self-declared\) +migrate\.approve/);

  // A log written before actorSource existed: its first record has no such key, and hashes as before.
  const body: Omit<AuditRecord, 'hash'> = { seq: 1, time: '2026-01-01T00:00:00.000Z', actor: 'carol', action: 'backup.create', command: 'prodguard backup create', target: 'production', verdict: 'ok', reason: 'legacy', prev: GENESIS };
  const legacy = `${JSON.stringify({ ...body, hash: recordHash(body) })}\n`;
  const other = join(fx.dir, 'legacy-audit.jsonl');
  writeFileSync(other, legacy);
  await fx.updateConfig((raw) => {
    raw.state.auditLog = 'legacy-audit.jsonl';
  });
  const again = await runCli(['check', 'ls'], { cwd: fx.dir, env: { ...env, PRODGUARD_ACTOR: 'carol' } });
  assert.equal(again.code, 0, again.stderr);
  const lines = readFileSync(other, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
  assert.equal(lines[0].actorSource, undefined);
  assert.equal(lines.at(-1)?.actorSource, 'PRODGUARD_ACTOR');
  assert.equal(lines.at(-1)?.prev, lines[0].hash);
  const carol = await search('--person', 'carol');
  const old = carol.find((r) => r.reason === 'legacy');
  assert.equal(old?.actorSource, 'unrecorded');
  assert.equal(old?.actorVerified, false);
  const verify = await runCli(['audit', 'verify', '--json'], { cwd: fx.dir, env });
  const v = JSON.parse(verify.stdout) as { records: number; problems: unknown[] };
  assert.equal(v.problems.length, 0, verify.stdout);
  assert.equal(v.records, lines.length);
});
