/**
 * Red team ap-050: a self-consistent record INSERTed into the team store's audit_log under a
 * made-up origin reads like a real CI runner's. `audit verify` now lists every other origin's rows
 * that no signed checkpoint (policy.checkpointKey) vouches for, and says when they belong to no
 * whole chain; a real other machine whose head was checkpointed is vouched up to that checkpoint.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { sharedCluster, sql, createDatabase } from '../helpers/pg.js';
import { makeProject, runCli } from '../helpers/cli.js';
import { openContext, type Context } from '../../src/context.js';
import { generateKeys, loadPrivateKey } from '../../src/migrate/keys.js';
import { initPolicy } from '../../src/policy/rotate.js';
import { recordHash, GENESIS } from '../../src/audit/log.js';
import { auditOrigin, verifyAnchored, writeCheckpoint } from '../../src/audit/anchor.js';

const cluster = sharedCluster({ name: 'prodguard-test-unvouched' });
const cleanups: Array<() => void | Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('ap-050: audit verify flags team-store rows of other origins that no signed checkpoint vouches for, and rows that belong to no chain', async () => {
  const teamUrl = await createDatabase(cluster(), 'unvouched_team');
  const env = { UV_TEAM_URL: teamUrl, PROD_URL_UNUSED: 'postgresql://x@127.0.0.1:1/x' };
  Object.assign(process.env, env);
  const shared = makeProject();
  cleanups.push(shared.cleanup);
  const keys = { alice: generateKeys({ name: 'alice', outDir: join(shared.dir, 'keys') }), bob: generateKeys({ name: 'bob', outDir: join(shared.dir, 'keys') }), ci: generateKeys({ name: 'ci', outDir: join(shared.dir, 'keys') }) };
  const config = stringify({
    version: 1,
    environments: { production: { kind: 'production', urlEnv: 'PROD_URL_UNUSED' } },
    team: [
      { name: 'alice', role: 'senior', publicKey: keys.alice.publicKey },
      { name: 'bob', role: 'senior', publicKey: keys.bob.publicKey },
    ],
    state: { store: 'postgres', urlEnv: 'UV_TEAM_URL' },
    backup: { encryption: { noEncrypt: true }, destinations: [{ name: 'disk-a', type: 'local', path: join(shared.dir, 'dest-a') }] },
    policy: { checkpointKey: keys.ci.publicKey },
  });
  // Two machines (two project dirs, two audit logs, so two origins) sharing one team store.
  const open = (): Context => {
    const p = makeProject();
    cleanups.push(p.cleanup);
    writeFileSync(join(p.dir, 'prodguard.yaml'), config);
    const c = openContext({ cwd: p.dir });
    cleanups.push(() => c.close());
    return c;
  };
  const laptop = open();
  await initPolicy(laptop, { keyFile: keys.alice.privateKeyFile });
  await laptop.audit({ action: 'test.op', command: 'op', target: 'production', verdict: 'ok', reason: 'laptop work' });
  const runner = open();
  for (let i = 1; i <= 3; i++) await runner.audit({ action: 'migrate.deploy', command: 'migrate deploy', target: 'production', verdict: 'ok', reason: `deploy ${i}` });
  await writeCheckpoint(runner, loadPrivateKey(keys.ci.privateKeyFile)); // record 4 is the checkpoint's own record
  await runner.audit({ action: 'test.op', command: 'op', target: 'production', verdict: 'ok', reason: 'after the checkpoint' });
  const runnerOrigin = auditOrigin(runner.auditLog.file);

  // The attack: a self-consistent record under a made-up origin, and one that starts mid-chain.
  const forged = (seq: number) => {
    const body = { seq, time: new Date().toISOString(), actor: 'alice', action: 'break-glass.open', command: 'prodguard break-glass', target: 'production', verdict: 'ok', reason: 'dropped customers by mistake', prev: GENESIS };
    return { ...body, hash: recordHash(body) };
  };
  for (const [origin, seq] of [['ci-runner-7f3a', 1], ['ci-runner-9b2c', 5]] as const) {
    const r = forged(seq);
    await sql(teamUrl, 'INSERT INTO prodguard_state.audit_log (origin, seq, hash, record) VALUES ($1, $2, $3, $4)', [origin, seq, r.hash, JSON.stringify(r)]);
  }

  const report = await verifyAnchored(laptop, undefined, { otherOrigins: true });
  assert.deepEqual(report.problems, [], 'nothing of the laptop own origin is wrong');
  const byOrigin = new Map((report.unvouched ?? []).map((u) => [u.origin, u]));
  assert.ok(!byOrigin.has(auditOrigin(laptop.auditLog.file)), 'its own origin is checked against the local log, not listed');
  assert.deepEqual(byOrigin.get('ci-runner-7f3a'), { origin: 'ci-runner-7f3a', rows: 1, vouched: 0, unsigned: 'seq 1', first: byOrigin.get('ci-runner-7f3a')!.first });
  assert.match(byOrigin.get('ci-runner-7f3a')!.first, /alice break-glass\.open ok: dropped customers by mistake/);
  assert.match(byOrigin.get('ci-runner-9b2c')!.noChain ?? '', /its rows start at record 5, not 1/);
  // The real runner: vouched up to its signed checkpoint (records 1–3), the rest listed.
  assert.equal(byOrigin.get(runnerOrigin)?.vouched, 3);
  assert.equal(byOrigin.get(runnerOrigin)?.unsigned, 'seq 4–5');

  const cli = await runCli(['audit', 'verify'], { cwd: laptop.loaded.root, env });
  assert.match(cli.stdout, /unsigned: origin ci-runner-7f3a: seq 1 of 1 row\(s\) in the team store are vouched for by no signed checkpoint; first: .*alice break-glass\.open/);
  assert.match(cli.stdout, /unsigned: origin ci-runner-9b2c: seq 5 of 1 row\(s\) .* belong to no whole chain \(its rows start at record 5, not 1\)/);
  const json = JSON.parse((await runCli(['audit', 'verify', '--json'], { cwd: laptop.loaded.root, env })).stdout) as { anchors: { unvouched: Array<{ origin: string }> } };
  assert.ok(json.anchors.unvouched.some((u) => u.origin === 'ci-runner-7f3a'));
});
