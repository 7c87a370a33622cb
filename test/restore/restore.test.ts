import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { runCli, makeProject, minimalConfig } from '../helpers/cli.js';
import { sharedCluster, sql, createDatabase } from '../helpers/pg.js';
import { contextFrom } from '../../src/context.js';
import { loadConfig } from '../../src/config/load.js';
import { createBackup } from '../../src/backup/create.js';
import { listBackups } from '../../src/backup/catalog.js';
import { checks } from '../../src/status/checks/recovery.js';

const cluster = sharedCluster({ name: 'prodguard-restore' });
// Staging lives on its own server: restoring onto production's server is refused by identity (#15).
const stagingCluster = sharedCluster({ name: 'prodguard-restore-staging' });

async function setup() {
  const c = cluster();
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  const config = (smoke: string) => minimalConfig(`backup:
  encryption:
    recipients: [${recipient}]
  destinations:
    - { name: local, type: local, path: backups }
drills:
  smokeTests:
${smoke}
`);
  const p = makeProject({ 'prodguard.yaml': config(`    - { name: customers exist, sql: "SELECT count(*) FROM customers", min: 300 }`) });
  const shop = await createDatabase(c, 'shop');
  await sql(shop, `CREATE TABLE customers (id int PRIMARY KEY, name text);
    INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 300) g;
    CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers, total numeric);
    INSERT INTO orders SELECT g, 1 + g % 300, g FROM generate_series(1, 1000) g;`);
  const sc = stagingCluster();
  const staging = await createDatabase(sc, 'staging_db');
  await sql(staging, `CREATE TABLE precious (id int); INSERT INTO precious VALUES (42)`);
  const env = { PRODUCTION_DATABASE_URL: shop, STAGING_DATABASE_URL: staging, LOCAL_DATABASE_URL: sc.url('postgres'), PRODGUARD_AGE_IDENTITY: identity };
  Object.assign(process.env, env);
  const ctx = contextFrom(loadConfig({ cwd: p.dir }));
  const backup = await createBackup(ctx, { env: 'production', reason: 'test' });
  await ctx.close();
  return { c, sc, p, env, backup, shop, staging, setConfig: (smoke: string) => writeFileSync(join(p.dir, 'prodguard.yaml'), config(smoke)) };
}

test('restore, its safety rules, and drills', async (t) => {
  const s = await setup();
  t.after(s.p.cleanup);
  const cli = (args: string[]) => runCli(args, { cwd: s.p.dir, env: s.env });

  await t.test('restoring production into a staging environment without --unmasked is refused (new database and --replace), naming staging refresh', async () => {
    for (const extra of [[], ['--replace'], ['--new-database', 'copy_refused']]) {
      const r = await cli(['restore', 'latest', '--to', 'staging', ...extra]);
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('prodguard:'));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /refusing to restore production's backup into staging \(kind staging\): it would put production's data there UNMASKED — use `prodguard staging refresh --env staging --yes` \(masked copy\), or pass --unmasked/);
    }
    // By connection string too: the URL resolves to the staging environment.
    const byUrl = await cli(['restore', 'latest', '--to', s.staging, '--replace']);
    assert.equal(byUrl.code, 1, byUrl.stderr);
    assert.match(byUrl.stderr, /UNMASKED/);
    assert.deepEqual(await sql(s.staging, 'SELECT id FROM precious'), [{ id: 42 }], 'staging untouched');
    const [{ n }] = await sql<{ n: number }>(s.sc.url('postgres'), `SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE 'shop_restore_%' OR datname = 'copy_refused'`);
    assert.equal(n, 0, 'no database was created on staging\'s server');
  });

  await t.test('restores into a new database by default and verifies row counts', async () => {
    const r = await cli(['restore', 'latest', '--to', 'staging', '--json', '--unmasked']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.backupId, s.backup.id);
    assert.match(out.database, /^shop_restore_\d{14}$/);
    assert.equal(out.createdDatabase, true);
    assert.deepEqual(out.mismatches, []);
    assert.equal(out.rows, 1300);
    const [{ n }] = await sql<{ n: number }>(s.sc.url(out.database), 'SELECT count(*)::int AS n FROM orders');
    assert.equal(n, 1000);
    assert.deepEqual(await sql(s.staging, 'SELECT id FROM precious'), [{ id: 42 }], 'the staging database itself is untouched');
  });

  await t.test('restore over production is refused, by name and by connection string', async () => {
    for (const to of ['production', s.shop]) {
      const r = await cli(['restore', 'latest', '--to', to]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /refusing to restore over production .*prodguard break-glass/);
    }
    const [{ n }] = await sql<{ n: number }>(s.sc.url('postgres'), `SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE 'shop_restore_%'`);
    assert.equal(n, 1, 'no database was created for the refused restores');
    const [{ m }] = await sql<{ m: number }>(s.c.url('postgres'), `SELECT count(*)::int AS m FROM pg_database WHERE datname LIKE 'shop_restore_%'`);
    assert.equal(m, 0, 'nothing on production\'s server either');
  });

  await t.test('a non-empty target without --replace is refused and left alone', async () => {
    const r = await cli(['restore', 'latest', '--to', 'staging', '--new-database', 'staging_db', '--unmasked']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /target database "staging_db" .* is not empty; pass --replace/);
    assert.deepEqual(await sql(s.staging, 'SELECT id FROM precious'), [{ id: 42 }]);
  });

  await t.test('with --replace the non-empty target is backed up first, then replaced', async () => {
    const r = await cli(['restore', 'latest', '--to', 'staging', '--replace', '--json', '--unmasked']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.database, 'staging_db');
    assert.ok(out.safetyBackupId);
    const ctx = contextFrom(loadConfig({ cwd: s.p.dir }));
    try {
      const staged = await listBackups(ctx, { env: 'staging' });
      assert.deepEqual(staged.map((b) => b.id), [out.safetyBackupId], 'the backup of the target is in the catalog');
      assert.deepEqual(staged[0].rowCounts, { 'public.precious': 1 });
    } finally {
      await ctx.close();
    }
    assert.equal((await sql(s.staging, `SELECT to_regclass('precious') AS t`))[0].t, null);
    assert.equal((await sql<{ n: number }>(s.staging, 'SELECT count(*)::int AS n FROM customers'))[0].n, 300);
  });

  await t.test('after an --unmasked restore into staging, status reports staging as UNMASKED (not masked)', async () => {
    const st = await cli(['status', '--json']);
    const checks = (JSON.parse(st.stdout) as { rules: Array<{ checks: Array<{ id: string; state: string; reason: string }> }> }).rules.flatMap((x) => x.checks);
    const c = checks.find((x) => x.id === 'migrate.staging');
    assert.equal(c?.state, 'failing', JSON.stringify(c));
    assert.match(c!.reason, /staging: .*UNMASKED: production's backup \S+ was restored into "staging_db" with --unmasked .* masking does not hold until `prodguard staging refresh --env staging --yes`/);
    assert.doesNotMatch(c!.reason, /masking: \d+ masked/);
    const ctx = contextFrom(loadConfig({ cwd: s.p.dir }));
    try {
      const rec = ctx.auditLog.read().filter((x) => x.action === 'restore' && x.verdict === 'ok').at(-1)!;
      assert.match(rec.command ?? '', /--unmasked/);
    } finally {
      await ctx.close();
    }
  });

  await t.test('a drill records RTO and RPO, and status rule 6 sees it', async () => {
    const r = await cli(['drill', '--env', 'production', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout);
    assert.equal(d.ok, true);
    assert.equal(d.backupId, s.backup.id);
    assert.ok(d.rtoMs > 0 && d.rpoMs > 0);
    assert.equal(d.tablesChecked, 2);
    assert.deepEqual(d.smoke.map((x: any) => [x.name, x.ok, x.value]), [['customers exist', true, '300']]);
    const ctx = contextFrom(loadConfig({ cwd: s.p.dir }));
    try {
      const stored = await (await ctx.store()).get<any>('drills', d.id);
      assert.equal(stored.rtoMs, d.rtoMs);
      const res = await checks.find((c) => c.id === 'recovery.drill-recent')!.run(ctx);
      assert.equal(res.state, 'ok', res.reason);
    } finally {
      await ctx.close();
    }
  });

  await t.test('a drill whose smoke query fails exits 1 and is recorded as failed', async () => {
    s.setConfig(`    - { name: customers exist, sql: "SELECT count(*) FROM customers", min: 300 }
    - { name: ten thousand orders, sql: "SELECT count(*) FROM orders", min: 10000 }
    - { name: broken query, sql: "SELECT nope FROM nowhere" }`);
    const r = await cli(['drill', '--json']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /restore drill failed: .*smoke test "ten thousand orders" \(got 1000, expected ≥ 10000\).*"broken query"/);
    const d = JSON.parse(r.stdout);
    assert.equal(d.ok, false);
    assert.ok(d.rtoMs > 0);
    assert.deepEqual(d.smoke.map((x: any) => x.ok), [true, false, false]);
  });

  await t.test('a flipped byte in a data object: the streamed restore stops, names the object, and drops the database it created', async () => {
    const dir = join(s.p.dir, 'backups', 'production', s.backup.id, 'dump.d');
    const biggest = readdirSync(dir).filter((f) => /^\d+\.dat\.gz\.age$/.test(f)).sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
    const path = join(dir, biggest);
    const bytes = readFileSync(path);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 40] ^= 0xff;
    writeFileSync(path, flipped);
    try {
      const r = await cli(['restore', s.backup.id, '--to', 'staging', '--new-database', 'damaged_copy', '--unmasked']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`object dump\\.d/${biggest.replace(/\./g, '\\.')} cannot be read back`), r.stderr);
      assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('prodguard:')).length, 1, r.stderr);
      assert.deepEqual(await sql(s.sc.url('postgres'), `SELECT datname FROM pg_database WHERE datname = 'damaged_copy'`), [], 'the database it created is dropped');
    } finally {
      writeFileSync(path, bytes);
    }
  });
  await t.test('kill -9 of a restore into staging mid-way: the half-filled database is reported by backup list --leftovers and dropped by prune', async () => {
    const { spawn } = await import('node:child_process');
    const { CLI, TSX } = await import('../helpers/cli.js');
    const child = spawn(process.execPath, ['--import', TSX, CLI, 'restore', 'latest', '--to', 'staging', '--new-database', 'killed_copy', '--unmasked'], {
      cwd: s.p.dir,
      env: { ...process.env, ...s.env },
      stdio: 'ignore',
    });
    const exited = new Promise<void>((r) => child.once('close', () => r()));
    let seen = false;
    for (let i = 0; i < 3000 && !seen && child.exitCode === null; i++) {
      const rows = await sql(s.sc.url('postgres'), `SELECT 1 FROM pg_database WHERE datname = 'killed_copy' AND shobj_description(oid, 'pg_database') LIKE 'prodguard restore: pid %'`);
      if (rows.length) seen = true;
      else await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    await exited;
    assert.ok(seen, 'the restore created its database before it was killed');
    const list = await cli(['backup', 'list', '--leftovers']);
    assert.match(list.stdout, /database +staging:killed_copy +LEFTOVER of a killed restore \(partly restored backup: UNMASKED rows\)/, list.stdout + list.stderr);
    const pr = await cli(['backup', 'prune', '--yes', '--json']);
    assert.equal(pr.code, 0, pr.stderr);
    assert.ok((JSON.parse(pr.stdout).databaseLeftovers as string[]).includes('staging:killed_copy'), pr.stdout);
    assert.deepEqual(await sql(s.sc.url('postgres'), `SELECT datname FROM pg_database WHERE datname = 'killed_copy'`), []);
    // A restore that completed is not a leftover: its databases are never listed.
    const again = await cli(['backup', 'list', '--leftovers']);
    assert.doesNotMatch(again.stdout, /LEFTOVER of a killed restore/);
  });
});
