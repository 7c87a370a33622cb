/**
 * Red-team cases (redteam/approvals): a developer with plain DML on the team store's documents
 * table rolls the policy chain back by deleting its newest links, or deletes it all and pins a
 * policy of their own; or points --config at a local SQLite store with a self-made policy. The
 * append-only team-store audit log anchors every version that came into force, and production's
 * policy pin is checked by break-glass and the production restore gate, not only by the deploy gate.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { sharedCluster, sql, createDatabase } from '../helpers/pg.js';
import { emergencyProject, type EmergencyProject } from '../emergency/fixture.js';
import { openContext, type Context } from '../../src/context.js';
import { initPolicy, signPolicyProposal } from '../../src/policy/rotate.js';
import { policyInForce, POLICY_CHAIN } from '../../src/policy/chain.js';
import { pinPolicyInProduction, pinProblem } from '../../src/policy/production-pin.js';
import { openBreakGlass } from '../../src/emergency/break-glass.js';
import { productionRestoreGate } from '../../src/emergency/restore-gate.js';
import { resolveRestoreTarget } from '../../src/restore/target.js';
import { loadPrivateKey } from '../../src/migrate/keys.js';
import { checks as trustChecks } from '../../src/status/checks/trust.js';

const cluster = sharedCluster({ name: 'prodguard-test-policy-rollback' });
let p: EmergencyProject;
let teamUrl: string;
const contexts: Context[] = [];
const ctx = (configFile?: string) => {
  const c = openContext({ cwd: p.dir, configFile });
  contexts.push(c);
  return c;
};
after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  p?.cleanup();
});

type Member = { name: string; role: string; publicKey: string };
const team = () => p.config.team as Member[];
const withRole = (name: string, role: string) => team().map((m) => (m.name === name ? { ...m, role } : m));

/** alice and bob sign the working tree's policy as the next version. */
async function rotate(config: Record<string, unknown>): Promise<void> {
  p.writeConfig(config);
  let r = await signPolicyProposal(ctx(), { keyFile: p.keys.alice });
  if (!r.inForce) r = await signPolicyProposal(ctx(), { keyFile: p.keys.bob });
  assert.ok(r.inForce, 'the rotation took effect');
}

let ready: Promise<void> | undefined;
/** v1 (alice pins), v2 (dave senior), v3 (dave demoted, 3 approvals): the seniors' real history. */
const setup = () =>
  (ready ??= (async () => {
    teamUrl = await createDatabase(cluster(), 'rb_team');
    process.env.RB_TEAM_URL = teamUrl;
    p = await emergencyProject(cluster(), 'rb', { state: { store: 'postgres', urlEnv: 'RB_TEAM_URL' } });
    await rotate({ ...p.config, team: withRole('dave', 'senior') });
    await rotate({ ...p.config, team: withRole('dave', 'developer'), migrations: { approvals: { required: 3 } } });
    assert.equal((await policyInForce(ctx())).inForce?.policy.version, 3);
  })());

const chainRows = () => sql(teamUrl, `SELECT id, body FROM prodguard_state.documents WHERE collection = '${POLICY_CHAIN}' ORDER BY id`) as Promise<Array<{ id: string; body: unknown }>>;
async function putBack(rows: Array<{ id: string; body: unknown }>): Promise<void> {
  const c = ctx();
  for (const r of rows) await (await c.store()).put(POLICY_CHAIN, r.id, r.body as object);
}

test('ap-040, ap-052, ap-042: deleting the newest policy-chain link in the team store is a rollback: no policy in force, status rule 4 fails, break-glass refused', async () => {
  await setup();
  const saved = await chainRows();
  await sql(teamUrl, `DELETE FROM prodguard_state.documents WHERE collection = '${POLICY_CHAIN}' AND id = '00000003'`);
  try {
    const r = await policyInForce(ctx());
    assert.equal(r.inForce, null, 'version 2 (dave senior) must not come back into force');
    assert.match(r.problem!, /policy chain rolled back or rewritten: .*records policy version 3 .* but the chain ends at version 2/);
    const status = await trustChecks.find((c) => c.id === 'policy.in-force')!.run(ctx());
    assert.equal(status.state, 'failing', `status rule 4 must fail: ${status.reason}`);
    await assert.rejects(
      openBreakGlass(ctx(), { env: 'production', reason: 'rt test', durationMs: 600_000, key: loadPrivateKey(p.keys.dave) }),
      /break-glass refused: policy chain rolled back or rewritten/,
    );
  } finally {
    await putBack(saved);
  }
  assert.equal((await policyInForce(ctx())).inForce?.policy.version, 3, 'restoring the signed link restores the policy');
});

test('ap-047: after production is pinned to v2, cutting the chain back to v2 is still refused (the anchor, not the pin, remembers v3)', async () => {
  await setup();
  const inForce = (await policyInForce(ctx())).inForce!;
  const saved = await chainRows();
  const v2 = saved.find((r) => r.id === '00000002')!.body as { policy: { version: number } };
  const { policyHash } = await import('../../src/policy/document.js');
  await pinPolicyInProduction(p.prodUrl, { version: 2, hash: policyHash(v2.policy as never) });
  await sql(teamUrl, `DELETE FROM prodguard_state.documents WHERE collection = '${POLICY_CHAIN}' AND id = '00000003'`);
  try {
    assert.match((await policyInForce(ctx())).problem!, /rolled back or rewritten/);
    assert.match((await pinProblem(ctx(), p.prodUrl))!, /rolled back or rewritten/, 'the deploy gate\'s pin check sees it too');
  } finally {
    await putBack(saved);
  }
  await pinPolicyInProduction(p.prodUrl, { version: 3, hash: inForce.hash });
  assert.equal(await pinProblem(ctx(), p.prodUrl), null);
});

test('ap-061, ap-062, ap-047: --config with a local SQLite store and a self-made policy: break-glass and restore --replace onto production are refused by production\'s pin (older than the pinned version)', async () => {
  await setup();
  const inForce = (await policyInForce(ctx())).inForce!;
  await pinPolicyInProduction(p.prodUrl, { version: 3, hash: inForce.hash });
  const evil = join(p.dir, 'evil.yaml');
  writeFileSync(evil, stringify({ ...p.config, state: { store: 'sqlite', path: '.prodguard/evil-state.db' }, team: withRole('dave', 'senior') }));
  const e = ctx(evil);
  await initPolicy(e, { keyFile: p.keys.dave });
  assert.equal((await policyInForce(e)).inForce?.policy.version, 1, 'a local store accepts any first pin (nothing to compare with)');
  await assert.rejects(
    openBreakGlass(e, { env: 'production', reason: 'x', durationMs: 600_000, key: loadPrivateKey(p.keys.dave) }),
    /break-glass refused: the policy in force in the state store \(version 1\) is older than the policy production last deployed under \(version 3/,
  );
  await assert.rejects(
    productionRestoreGate(e, resolveRestoreTarget(e.loaded, 'production'), true, loadPrivateKey(p.keys.dave)),
    /refusing to restore over production \(production\): the policy in force in the state store \(version 1\) is older than the policy production last deployed under \(version 3/,
  );
  assert.ok(e.auditLog.read().some((r) => r.action === 'break-glass.open' && r.verdict === 'refused' && /older than/.test(r.reason)), 'the refusal is audited');
  const { listGrants } = await import('../../src/grants/grants.js');
  assert.deepEqual(await listGrants(await e.store()), [], 'no grant was written');
  // The team's real policy still passes the same check.
  assert.equal(await pinProblem(ctx(), p.prodUrl), null);
});

test('ap-080, ap-044, ap-045: deleting the whole team-store chain and re-initialising with puppet seniors is refused; break-glass too', async () => {
  await setup();
  const saved = await chainRows();
  await sql(teamUrl, `DELETE FROM prodguard_state.documents WHERE collection = '${POLICY_CHAIN}'`);
  const config = p.config;
  try {
    p.writeConfig({ ...config, team: withRole('dave', 'senior'), migrations: { approvals: { required: 1 } } });
    await assert.rejects(initPolicy(ctx(), { keyFile: p.keys.dave }), /records policy version 3 .* but the chain is empty.*must be repaired, not re-pinned/);
    assert.equal((await chainRows()).length, 0, 'nothing was pinned');
    await assert.rejects(
      openBreakGlass(ctx(), { env: 'production', reason: 'x', durationMs: 600_000, key: loadPrivateKey(p.keys.dave), withoutBackup: true, secondKey: loadPrivateKey(p.keys.alice) }),
      /break-glass refused: policy chain rolled back or rewritten/,
    );
  } finally {
    p.writeConfig(config);
    await putBack(saved);
  }
  assert.equal((await policyInForce(ctx())).inForce?.policy.version, 3);
});

test('a row forged into the append-only audit log (INSERT is allowed) can only fail closed', async () => {
  await setup();
  // Forged rows can only add constraints: a recorded version the chain lacks means no policy in force.
  await sql(teamUrl, `INSERT INTO prodguard_state.audit_log (origin, seq, hash, record) VALUES ('forged', 1, 'x',
    '{"action":"policy.change","verdict":"ok","time":"2026-01-01T00:00:00Z","reason":"policy version 9","details":{"policyHash":"${'a'.repeat(64)}","version":9}}'::jsonb)`);
  const r = await policyInForce(ctx());
  assert.equal(r.inForce, null);
  assert.match(r.problem!, /records policy version 9 .* but the chain ends at version 3/);
  await assert.rejects(sql(teamUrl, `DELETE FROM prodguard_state.audit_log WHERE origin = 'forged'`), /append-only/);
});
