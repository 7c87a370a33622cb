import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { sharedCluster, sql, createDatabase } from '../helpers/pg.js';
import { makeProject, runCli } from '../helpers/cli.js';
import { openContext, AUDIT_HEAD_KEY, type Context } from '../../src/context.js';
import { generateKeys, loadPrivateKey } from '../../src/migrate/keys.js';
import { initPolicy } from '../../src/policy/rotate.js';
import { recordHash, verifyAuditText, GENESIS, type AuditRecord } from '../../src/audit/log.js';
import { verifyAnchored, writeCheckpoint } from '../../src/audit/anchor.js';
import { checks as trustChecks } from '../../src/status/checks/trust.js';

const cluster = sharedCluster({ name: 'prodguard-test-anchor' });
const cleanups: Array<() => void | Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A project whose policy names a checkpoint key; with a team store when `teamUrl` is given. */
async function project(name: string, teamUrl?: string) {
  const p = makeProject();
  cleanups.push(p.cleanup);
  const keys = { alice: generateKeys({ name: 'alice', outDir: join(p.dir, 'keys') }), bob: generateKeys({ name: 'bob', outDir: join(p.dir, 'keys') }), ci: generateKeys({ name: 'ci', outDir: join(p.dir, 'keys') }) };
  const env = { [`${name.toUpperCase()}_TEAM_URL`]: teamUrl ?? '', PROD_URL_UNUSED: 'postgresql://x@127.0.0.1:1/x' };
  Object.assign(process.env, env);
  writeFileSync(
    join(p.dir, 'prodguard.yaml'),
    stringify({
      version: 1,
      environments: { production: { kind: 'production', urlEnv: 'PROD_URL_UNUSED' } },
      team: [
        { name: 'alice', role: 'senior', publicKey: keys.alice.publicKey },
        { name: 'bob', role: 'senior', publicKey: keys.bob.publicKey },
      ],
      state: teamUrl ? { store: 'postgres', urlEnv: `${name.toUpperCase()}_TEAM_URL` } : {},
      backup: { encryption: { noEncrypt: true }, destinations: [{ name: 'disk-a', type: 'local', path: join(p.dir, 'dest-a') }, { name: 'disk-b', type: 'local', path: join(p.dir, 'dest-b') }] },
      policy: { checkpointKey: keys.ci.publicKey },
    }),
  );
  let ctx = openContext({ cwd: p.dir });
  cleanups.push(() => ctx.close());
  await initPolicy(ctx, { keyFile: keys.alice.privateKeyFile });
  for (let i = 1; i <= 4; i++) await ctx.audit({ action: 'test.op', command: `op ${i}`, target: 'production', verdict: 'ok', reason: `operation ${i}` });
  return {
    dir: p.dir,
    env,
    keys,
    ctx: () => ctx,
    async reopen() {
      await ctx.close();
      ctx = openContext({ cwd: p.dir });
    },
  };
}

/** The attacker's rewrite: drop a record, renumber, recompute every hash, and fix the head in the store. */
async function rewriteWithout(ctx: Context, seq: number) {
  const recs = ctx.auditLog.read().filter((r) => r.seq !== seq);
  let prev = GENESIS;
  const out: AuditRecord[] = recs.map((r, i) => {
    const { hash: _h, ...body } = r;
    const b = { ...body, seq: i + 1, prev };
    const full = { ...b, hash: recordHash(b) };
    prev = full.hash;
    return full;
  });
  writeFileSync(ctx.auditLog.file, out.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const last = out[out.length - 1];
  await (await ctx.store()).setMeta(AUDIT_HEAD_KEY, JSON.stringify({ seq: last.seq, hash: last.hash }));
  assert.equal(verifyAuditText(readFileSync(ctx.auditLog.file, 'utf8'), { seq: last.seq, hash: last.hash }).ok, true, 'the rewrite fools the local chain');
}

const anchoredCheck = trustChecks.find((c) => c.id === 'audit.anchored')!;

test('team store: the audit table is append-only (UPDATE, DELETE, TRUNCATE refused by its triggers)', async () => {
  const url = await createDatabase(cluster(), 'anchor_team1');
  const pr = await project('a1', url);
  const rows = await sql<{ n: number }>(url, 'SELECT count(*)::int AS n FROM prodguard_state.audit_log');
  assert.ok(rows[0].n >= 5, 'every record is anchored (policy.init + 4)');
  for (const stmt of ['UPDATE prodguard_state.audit_log SET hash = hash', 'DELETE FROM prodguard_state.audit_log', 'TRUNCATE prodguard_state.audit_log']) {
    await assert.rejects(sql(url, stmt), /audit_log is append-only/, stmt);
  }
  const grants = await sql<{ g: boolean }>(url, `SELECT has_table_privilege('public', 'prodguard_state.audit_log', 'DELETE') AS g`);
  assert.equal(grants[0].g, false);
  assert.equal((await anchoredCheck.run(pr.ctx())).state, 'ok');
});

test('attack: the local log rewritten with a recomputed chain and head verifies locally, but audit verify names the changed and missing records and rule 4 turns red', async () => {
  const url = await createDatabase(cluster(), 'anchor_team2');
  const pr = await project('a2', url);
  await rewriteWithout(pr.ctx(), 3);
  const r = await verifyAnchored(pr.ctx());
  const text = r.problems.map((p) => p.problem).join('\n');
  assert.match(text, /record 3 was changed: the team store holds a different record \(test\.op: operation 2\)|record 3 was changed/);
  assert.match(text, /in the team store are missing from the local log \(seq 5\)/);
  const cli = await runCli(['audit', 'verify'], { cwd: pr.dir, env: pr.env });
  assert.equal(cli.code, 1);
  assert.match(cli.stdout, /team store: record 3 was changed/);
  assert.match(cli.stderr, /audit log tampered/);
  assert.equal((await anchoredCheck.run(pr.ctx())).state, 'failing');
});

test('attack: deleting the local audit log (team store) is detected, not read as a fresh install', async () => {
  const url = await createDatabase(cluster(), 'anchor_team3');
  const pr = await project('a3', url);
  rmSync(pr.ctx().auditLog.file);
  await pr.reopen();
  const r = await verifyAnchored(pr.ctx());
  assert.match(r.problems[0].problem, /5 record\(s\) in the team store are missing from the local log \(seq 1–5\)/);
  const res = await anchoredCheck.run(pr.ctx());
  assert.equal(res.state, 'failing');
  assert.match(res.reason, /missing from the local log/);
});

test('attack: after deleting the local log, new records still reach the team store (displaced) and survive deleting the log again (red team ap-051)', async () => {
  const url = await createDatabase(cluster(), 'anchor_team5');
  const pr = await project('a5', url);
  rmSync(pr.ctx().auditLog.file);
  await pr.reopen();
  // The restarted log begins again at seq 1, which the team store already holds for this origin.
  const rec = await pr.ctx().audit({ action: 'emergency.break-glass', command: 'prodguard break-glass --env production', target: 'production', verdict: 'refused', reason: 'dave is not senior in the policy in force' });
  assert.equal(rec.seq, 1);
  const stored = await sql<{ origin: string; seq: number; hash: string }>(url, `SELECT origin, seq::int AS seq, hash FROM prodguard_state.audit_log WHERE record->>'action' = 'emergency.break-glass'`);
  assert.equal(stored.length, 1, 'the refusal is in the append-only team store');
  assert.equal(stored[0].hash, rec.hash);
  assert.match(stored[0].origin, /^[0-9a-f]{16}#[0-9a-f]{16}$/, 'under the displaced origin');
  // Appending the same record twice is still not an edit.
  await (await pr.ctx().store()).appendAudit!(stored[0].origin.split('#')[0], rec);
  assert.equal((await sql<{ n: number }>(url, `SELECT count(*)::int AS n FROM prodguard_state.audit_log WHERE record->>'action' = 'emergency.break-glass'`))[0].n, 1);
  const r = await verifyAnchored(pr.ctx());
  const text = r.problems.map((p) => p.problem).join('\n');
  assert.match(text, /record 1 was changed/, 'the deletion is still flagged');
  assert.doesNotMatch(text, /not in the team store/, 'the new record is anchored');
  // Deleting the log again does not take the refusal out of the team's record.
  rmSync(pr.ctx().auditLog.file);
  await pr.reopen();
  const search = await runCli(['audit', 'search', '--verdict', 'refused', '--json'], { cwd: pr.dir, env: pr.env });
  assert.equal(search.code, 0, search.stderr);
  assert.match(search.stdout, /dave is not senior in the policy in force/);
});

test('attack: deleting the local audit log and the state database (SQLite) is caught by the signed checkpoints on the backup destinations', async () => {
  const pr = await project('a4');
  // The checkpoint key is the CI identity's; a senior's key is refused.
  await assert.rejects(writeCheckpoint(pr.ctx(), loadPrivateKey(pr.keys.alice.privateKeyFile)), /not the checkpoint key of the policy in force/);
  const cp = await runCli(['audit', 'checkpoint', '--key', pr.keys.ci.privateKeyFile], { cwd: pr.dir, env: pr.env });
  assert.equal(cp.code, 0, cp.stderr);
  assert.match(cp.stdout, /written to disk-a, disk-b/);
  await pr.reopen();
  assert.equal((await verifyAnchored(pr.ctx())).problems.length, 0);
  assert.equal((await anchoredCheck.run(pr.ctx())).state, 'ok');
  // Rewritten: the signed checkpoint names the differing record.
  await rewriteWithout(pr.ctx(), 2);
  assert.match((await verifyAnchored(pr.ctx())).problems.map((p) => p.problem).join('\n'), /record 5 differs from the checkpoint on disk-a|vouches for record 6/);
  // Deleted together with the state database (and with it the policy chain).
  await pr.ctx().close();
  rmSync(join(pr.dir, '.prodguard/state.db'), { force: true });
  rmSync(join(pr.dir, '.prodguard/state.db-wal'), { force: true });
  rmSync(join(pr.dir, '.prodguard/state.db-shm'), { force: true });
  rmSync(pr.ctx().auditLog.file);
  assert.equal(existsSync(pr.ctx().auditLog.file), false);
  await pr.reopen();
  const r = await verifyAnchored(pr.ctx());
  assert.match(r.problems[0].problem, /checkpoint on disk-a .* vouches for record 5, which the local log does not have \(records deleted, or the log was replaced\)/);
  const res = await anchoredCheck.run(pr.ctx());
  assert.equal(res.state, 'failing', 'rule 4 is red, not a fresh install');
  const cli = await runCli(['audit', 'verify', '--json'], { cwd: pr.dir, env: pr.env });
  assert.equal(cli.code, 1);
  assert.equal(JSON.parse(cli.stdout).anchors.problems.length, 2, 'one per destination');
});

test('w5c-074: two origins (two checkouts) writing to one team store: neither one\'s audit verify reports the other\'s records as cut off; w5c-072: a deleted local log still is', async () => {
  const url = await createDatabase(cluster(), 'anchor_team_w5c074');
  const a = await project('w5ca', url);
  // A clean clone elsewhere: the same prodguard.yaml, no local audit log, the same team store.
  const b = makeProject();
  cleanups.push(b.cleanup);
  writeFileSync(join(b.dir, 'prodguard.yaml'), readFileSync(join(a.dir, 'prodguard.yaml'), 'utf8'));
  const verify = (dir: string) => runCli(['audit', 'verify'], { cwd: dir, env: a.env });
  let r = await verify(b.dir);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, /cut off/);
  // Both machines write, in turns; the other one wrote last each time.
  const bctx = openContext({ cwd: b.dir });
  cleanups.push(() => bctx.close());
  await bctx.audit({ action: 'test.op', command: 'op b1', target: 'production', verdict: 'ok', reason: 'from the clone' });
  r = await verify(a.dir);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  await a.ctx().audit({ action: 'test.op', command: 'op a5', target: 'production', verdict: 'ok', reason: 'from the first checkout' });
  r = await verify(b.dir);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /audit log chain intact: 1 records/);
  // The heads are per origin, so the first checkout's deleted log is still reported (w5c-072).
  rmSync(a.ctx().auditLog.file);
  r = await verify(a.dir);
  assert.notEqual(r.code, 0);
  assert.match(r.stdout + r.stderr, /records 1–\d+ were cut off the end/);
});
