import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupFixture } from './fixture.js';
import { sql } from '../helpers/pg.js';
import { openContext } from '../../src/context.js';
import { materializeBackup, restoreDump, countRows, getBackup, listBackups } from '../../src/backup/index.js';
import type { BackupManifest } from '../../src/backup/index.js';

// An inheritance parent whose rows all live in its child (red team ag-093: verify counted the
// parent with its children and reported a mismatch against the dump's own-rows count).
const fx = backupFixture('roundtrip', {
  extraSql: `CREATE TABLE parent_people (id int, name text);
    CREATE TABLE child_people (extra text) INHERITS (parent_people);
    INSERT INTO child_people (id, name, extra) SELECT g, 'p' || g, 'x' FROM generate_series(1, 300) g;`,
});

/** md5 of every table's rows in a fixed order: equal digests mean equal contents. */
async function tableDigests(url: string): Promise<Record<string, string>> {
  const tables = await sql<{ s: string; t: string }>(url, `SELECT table_schema s, table_name t FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog','information_schema') ORDER BY 1,2`);
  const out: Record<string, string> = {};
  for (const { s, t } of tables) {
    const q = `"${s}"."${t.replace(/"/g, '""')}"`;
    const [r] = await sql<{ d: string }>(url, `SELECT md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) AS d FROM ${q} x`);
    out[`${s}.${t}`] = r.d;
  }
  return out;
}

let first: BackupManifest;

test('backup create writes data objects and a manifest to both destinations and exits 0', async () => {
  const f = fx();
  const r = await f.cli(['backup', 'create', '--env', 'production', '--reason', 'round trip test', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout) as { id: string; manifest: BackupManifest; degraded: boolean };
  first = res.manifest;
  assert.equal(res.degraded, false);
  assert.deepEqual(first.destinations, ['local', 's3']);
  assert.equal(first.reason, 'round trip test');
  // Each table's own rows, as its COPY holds them: the parent none, its child 300.
  assert.deepEqual(first.rowCounts, { 'public.Mixed Case': 2, 'public.child_people': 300, 'public.events': 500, 'public.parent_people': 0, 'shop.customers': 300, 'shop.orders': 2000 });
  assert.deepEqual(first.objects.map((o) => o.name), ['dump.pgcustom.age', 'database.json.age', 'globals.sql.age']);
  assert.ok(first.objects.every((o) => o.encrypted && /^[0-9a-f]{64}$/.test(o.sha256) && o.bytes > 0));
  assert.match(first.lsn, /^[0-9A-F]+\/[0-9A-F]+$/);
  assert.match(first.snapshot, /^[0-9A-F-]+$/);
  const folder = join(f.localPath, 'production', res.id);
  assert.deepEqual(readdirSync(folder).sort(), ['database.json.age', 'dump.pgcustom.age', 'globals.sql.age', 'manifest.json']);
  assert.ok(existsSync(join(f.s3Dir, 'b', 'prodguard', 'production', res.id)), 's3rver holds the backup folder');
});

test('the stored dump is ciphertext: no table data is readable on the destination', async () => {
  const f = fx();
  const { readFileSync } = await import('node:fs');
  const bytes = readFileSync(join(f.localPath, 'production', first.id, 'dump.pgcustom.age'));
  assert.equal(bytes.subarray(0, 21).toString(), 'age-encryption.org/v1');
  assert.equal(bytes.includes(Buffer.from('PGDMP')), false);
  assert.equal(bytes.includes(Buffer.from('customer 1')), false);
});

test('backup → materialize → pg_restore gives a database whose table contents are identical', async () => {
  const f = fx();
  Object.assign(process.env, f.env);
  const ctx = openContext({ cwd: f.dir });
  const work = mkdtempSync(join(tmpdir(), 'prodguard-test-mat-'));
  try {
    const mat = await materializeBackup(ctx, first.id, work);
    assert.ok(existsSync(mat.dumpPath));
    assert.ok(mat.globalsPath && existsSync(mat.globalsPath));
    assert.equal(readdirSync(work).filter((n) => n.startsWith('.download')).length, 0, 'staging area cleaned');
    await sql(f.cluster.url(), 'CREATE DATABASE restored_copy');
    const target = f.cluster.url('restored_copy');
    await restoreDump(mat.dumpPath, target, { jobs: 2 });
    assert.deepEqual(await tableDigests(target), await tableDigests(f.dbUrl));
    assert.deepEqual(await countRows(target), first.rowCounts);
    const [v] = await sql<{ n: string }>(target, 'SELECT count(*) n FROM shop.big_orders');
    assert.ok(Number(v.n) > 0, 'views are restored too');
  } finally {
    rmSync(work, { recursive: true, force: true });
    await ctx.close();
  }
});

test('backup verify restores into a throw-away cluster and records the result in the catalog and the manifest', async () => {
  const f = fx();
  const r = await f.cli(['backup', 'verify', 'latest', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout) as { ok: boolean; backupId: string; problems: string[] };
  assert.equal(res.ok, true);
  assert.equal(res.backupId, first.id);
  assert.deepEqual(res.problems, []);
  Object.assign(process.env, f.env);
  const { checks } = await import('../../src/status/checks/backup.js');
  const { latestVerifiedBackup } = await import('../../src/backup/index.js');
  const ctx = openContext({ cwd: f.dir });
  try {
    const c = await checks.find((x) => x.id === 'backup.recent-verified')!.run(ctx);
    assert.equal(c.state, 'ok', c.reason);
    assert.match(c.reason, new RegExp(`production: ${first.id} verified by restore`));
    assert.equal((await latestVerifiedBackup(ctx, 'production', 3600_000))?.id, first.id);
    assert.equal(await latestVerifiedBackup(ctx, 'production', 1), null, 'too old for a 1 ms window');
    assert.equal((await checks.find((x) => x.id === 'backup.encrypted')!.run(ctx)).state, 'ok');
  } finally {
    await ctx.close();
  }
  const show = JSON.parse((await f.cli(['backup', 'show', first.id, '--json'])).stdout) as BackupManifest;
  assert.equal(show.verified?.ok, true);
  const { readFileSync } = await import('node:fs');
  const onDisk = JSON.parse(readFileSync(join(f.localPath, 'production', first.id, 'manifest.json'), 'utf8')) as BackupManifest;
  assert.equal(onDisk.verified?.ok, true, 'the manifest on the destination carries the verification too');
});

test('ap-077: status rule 2 notices a verified backup whose files were deleted from a destination afterwards', async () => {
  const f = fx();
  Object.assign(process.env, f.env);
  const { renameSync } = await import('node:fs');
  const { checks } = await import('../../src/status/checks/backup.js');
  const folder = join(f.localPath, 'production', first.id);
  renameSync(folder, folder + '.moved');
  const ctx = openContext({ cwd: f.dir });
  try {
    const c = await checks.find((x) => x.id === 'backup.recent-verified')!.run(ctx);
    assert.equal(c.state, 'failing', c.reason);
    assert.match(c.reason, new RegExp(`newest verified backup ${first.id} is no longer complete: on \\S+: (\\d+) of \\1 files of backup ${first.id} are gone`));
  } finally {
    renameSync(folder + '.moved', folder);
    await ctx.close();
  }
  const ctx2 = openContext({ cwd: f.dir });
  try {
    assert.equal((await checks.find((x) => x.id === 'backup.recent-verified')!.run(ctx2)).state, 'ok');
  } finally {
    await ctx2.close();
  }
});

test('backup verify --scratch-url restores into a temporary database on a given server and drops it', async () => {
  const f = fx();
  const r = await f.cli(['backup', 'verify', first.id, '--scratch-url', f.cluster.url(), '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).ok, true);
  const dbs = await sql<{ datname: string }>(f.cluster.url(), "SELECT datname FROM pg_database WHERE datname LIKE 'prodguard_verify%'");
  assert.deepEqual(dbs, []);
});

test('losing the state store loses nothing: sync-catalog rebuilds it from the manifests alone', async () => {
  const f = fx();
  const second = await f.cli(['backup', 'create', '--env', 'production', '--json']);
  assert.equal(second.code, 0, second.stderr);
  rmSync(join(f.dir, '.prodguard', 'state.db'), { force: true });
  const empty = await f.cli(['backup', 'list', '--json']);
  assert.deepEqual(JSON.parse(empty.stdout), []);
  const sync = await f.cli(['backup', 'sync-catalog', '--json']);
  assert.equal(sync.code, 0, sync.stderr);
  assert.equal(JSON.parse(sync.stdout).found, 2);
  const list = JSON.parse((await f.cli(['backup', 'list', '--json'])).stdout) as BackupManifest[];
  assert.deepEqual(list.map((m) => m.id), [JSON.parse(second.stdout).id, first.id], 'newest first');
  assert.equal(list[1].verified?.ok, true, 'the verification result survives in the manifest');
  Object.assign(process.env, f.env);
  const ctx = openContext({ cwd: f.dir });
  try {
    assert.equal((await getBackup(ctx, 'latest')).id, list[0].id);
    assert.equal((await listBackups(ctx, { env: 'production' })).length, 2);
  } finally {
    await ctx.close();
  }
});

test('backup show of an unknown id is a one-line usage error', async () => {
  const f = fx();
  const r = await f.cli(['backup', 'show', '20200101T000000Z-abcdef']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^prodguard: unknown backup "20200101T000000Z-abcdef"/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('backup keygen writes a working identity to a 0600 file and never prints it', async () => {
  const f = fx();
  const { mkdtempSync, readFileSync, statSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const out = join(mkdtempSync(join(tmpdir(), 'prodguard-keygen-')), 'backup.key');
  const r = await f.cli(['backup', 'keygen', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, /AGE-SECRET-KEY/);
  assert.equal(statSync(out).mode & 0o777, 0o600);
  const again = await f.cli(['backup', 'keygen', '--out', out]);
  assert.equal(again.code, 2, 'an existing key file is never overwritten');
  const printed = JSON.parse(r.stdout) as { recipient: string };
  const k = { recipient: printed.recipient, identity: readFileSync(out, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'))! };
  assert.match(k.recipient, /^age1[0-9a-z]+$/);
  assert.match(k.identity, /^AGE-SECRET-KEY-1[0-9A-Z]+$/);
  const { Readable } = await import('node:stream');
  const { encryptStream, decryptStream } = await import('../../src/backup/encryption.js');
  const enc = await encryptStream(Readable.from([Buffer.from('hello backup')]), [k.recipient]);
  const dec = await decryptStream(enc, k.identity, 'test');
  const chunks: Buffer[] = [];
  for await (const c of dec) chunks.push(Buffer.from(c as Uint8Array));
  assert.equal(Buffer.concat(chunks).toString(), 'hello backup');
});
