import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { backupFixture } from './fixture.js';
import type { BackupManifest } from '../../src/backup/index.js';

const fx = backupFixture('faults');

async function create(): Promise<BackupManifest> {
  const r = await fx().cli(['backup', 'create', '--env', 'production', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { manifest: BackupManifest }).manifest;
}

function s3Object(id: string, name: string): string {
  // s3rver keeps each object as a file "<key>._S3rver_object" under <dir>/<bucket>/.
  return join(fx().s3Dir, 'b', 'prodguard', 'production', id, `${name}._S3rver_object`);
}

function catalogEntry(id: string): Promise<BackupManifest> {
  return fx().cli(['backup', 'show', id, '--json']).then((r) => JSON.parse(r.stdout) as BackupManifest);
}

test('a flipped byte in the local copy of the dump fails verify and names the destination and object', async () => {
  const f = fx();
  const m = await create();
  const p = join(f.localPath, 'production', m.id, 'dump.pgcustom.age');
  const buf = readFileSync(p);
  buf[Math.floor(buf.length / 2)] ^= 0x01;
  writeFileSync(p, buf);
  const r = await f.cli(['backup', 'verify', m.id, '--json']);
  assert.equal(r.code, 1);
  const res = JSON.parse(r.stdout) as { ok: boolean; problems: string[] };
  assert.equal(res.ok, false);
  assert.deepEqual(res.problems.filter((x) => /sha256 mismatch/.test(x)).length, 1);
  assert.match(res.problems.join('\n'), /destination local: object dump\.pgcustom\.age sha256 mismatch/);
  assert.match(r.stderr, /failed verification: destination local: object dump\.pgcustom\.age/);
  assert.equal((await catalogEntry(m.id)).verified?.ok, false, 'the failure is recorded');
});

test('a flipped byte in the S3 copy of the globals is found too', async () => {
  const f = fx();
  const m = await create();
  const p = s3Object(m.id, 'globals.sql.age');
  assert.ok(existsSync(p), `s3rver layout changed: ${p}`);
  const buf = readFileSync(p);
  buf[buf.length - 3] ^= 0x80;
  writeFileSync(p, buf);
  const r = await f.cli(['backup', 'verify', m.id, '--json']);
  assert.equal(r.code, 1);
  assert.match(JSON.parse(r.stdout).problems.join('\n'), /destination s3: object globals\.sql\.age sha256 mismatch/);
});

test('a missing object fails verify and is named', async () => {
  const f = fx();
  const m = await create();
  rmSync(join(f.localPath, 'production', m.id, 'globals.sql.age'));
  const r = await f.cli(['backup', 'verify', m.id, '--json']);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stdout.trim(), `verify --json printed its result: ${r.stderr}`);
  assert.match(JSON.parse(r.stdout).problems.join('\n'), /destination local: object globals\.sql\.age is missing/);
});

test('whichever object is missing, on whichever destination, verify names it (JSON and one line without --json)', async () => {
  const f = fx();
  const m = await create();
  // Smallest first: that object's header is the one the up-front key check reads.
  const objects = [...m.objects].sort((a, b) => a.bytes - b.bytes).map((o) => o.name);
  // s3rver keeps an object as "<key>._S3rver_object" beside its metadata files: all of them go.
  const s3Files = (name: string) => {
    const dir = dirname(s3Object(m.id, name));
    return readdirSync(dir).filter((x) => x.startsWith(`${name}._S3rver_`)).map((x) => join(dir, x));
  };
  const where = {
    local: (name: string) => [join(f.localPath, 'production', m.id, name)],
    s3: s3Files,
  };
  for (const [dest, files] of Object.entries(where)) {
    for (const name of objects) {
      const saved = files(name).map((p) => ({ p, bytes: readFileSync(p) }));
      assert.ok(saved.length > 0, `${dest}/${name}: layout changed`);
      for (const x of saved) rmSync(x.p);
      try {
        const json = await f.cli(['backup', 'verify', m.id, '--json']);
        assert.equal(json.code, 1, `${dest}/${name}: ${json.stderr}`);
        assert.ok(json.stdout.trim(), `${dest}/${name}: verify --json printed its result (stderr: ${json.stderr})`);
        const res = JSON.parse(json.stdout) as { ok: boolean; problems: string[] };
        assert.equal(res.ok, false);
        assert.ok(res.problems.includes(`destination ${dest}: object ${name} is missing`), `${dest}/${name}: ${res.problems.join('; ')}`);
        if (name === objects[0] && dest === 'local') {
          const plain = await f.cli(['backup', 'verify', m.id]);
          assert.equal(plain.code, 1);
          assert.equal(plain.stderr.split('\n').filter((l) => l.startsWith('prodguard:')).length, 1, plain.stderr);
          assert.match(plain.stderr, new RegExp(`^prodguard: backup ${m.id} failed verification: .*object .* is missing`, 'm'));
        }
      } finally {
        for (const x of saved) writeFileSync(x.p, x.bytes);
      }
    }
  }
  // Every copy back: verify passes again.
  const again = await f.cli(['backup', 'verify', m.id, '--json']);
  assert.equal(again.code, 0, again.stdout + again.stderr);
});

test('when the restore check itself cannot run, verify still prints its result naming the missing object and why', async () => {
  const f = fx();
  const m = await create();
  rmSync(join(f.localPath, 'production', m.id, 'globals.sql.age'));
  const { freePort } = await import('../../src/pg/cluster.js');
  // Nothing listens there: the scratch server is unreachable (as a throw-away cluster that cannot start on a busy host).
  const r = await f.cli(['backup', 'verify', m.id, '--json', '--scratch-url', `postgresql://postgres@127.0.0.1:${await freePort()}/postgres`]);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stdout.trim(), `verify --json printed its result: ${r.stderr}`);
  const res = JSON.parse(r.stdout) as { ok: boolean; problems: string[] };
  assert.equal(res.ok, false);
  assert.ok(res.problems.includes('destination local: object globals.sql.age is missing'), res.problems.join('; '));
  assert.ok(res.problems.some((x) => x.startsWith('restore check: ')), res.problems.join('; '));
  assert.equal((await catalogEntry(m.id)).verified?.ok, false, 'the failure is recorded');
});

test('a missing decryption key: one clear line, exit 2, nothing recorded or written', async () => {
  const f = fx();
  const m = await create();
  const before = await catalogEntry(m.id);
  const r = await f.cli(['backup', 'verify', m.id], { PRODGUARD_AGE_IDENTITY: '' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^prodguard: this backup is encrypted and no age identity was found: set PRODGUARD_AGE_IDENTITY/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.deepEqual((await catalogEntry(m.id)).verified, before.verified);
  assert.deepEqual(readdirSync(join(f.localPath, 'production', m.id)).sort(), ['database.json.age', 'dump.pgcustom.age', 'globals.sql.age', 'manifest.json']);
});

test('a wrong decryption key: one clear line, exit 2, no result recorded, no plaintext left behind', async () => {
  const f = fx();
  const m = await create();
  const { generateKeyPair } = await import('../../src/backup/encryption.js');
  const other = await generateKeyPair();
  // A private TMPDIR for this run: other test files verify backups concurrently in /tmp.
  const privateTmp = mkdtempSync(join(tmpdir(), 'prodguard-faults-tmp-'));
  chmodSync(privateTmp, 0o755); // the throw-away cluster's OS user must reach its directory
  const r = await f.cli(['backup', 'verify', m.id], { PRODGUARD_AGE_IDENTITY: other.identity, TMPDIR: privateTmp });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /does not match any recipient of this backup \(wrong key\)/);
  assert.equal(r.stderr.includes('AGE-SECRET-KEY'), false, 'the key is never printed');
  assert.equal((await catalogEntry(m.id)).verified, undefined);
  const manifest = JSON.parse(readFileSync(join(f.localPath, 'production', m.id, 'manifest.json'), 'utf8')) as BackupManifest;
  assert.equal(manifest.verified, undefined);
  // (tsx, which runs the CLI in tests, keeps its cache there too)
  assert.deepEqual(readdirSync(privateTmp).filter((n) => n.startsWith('prodguard-')), [], 'no plaintext or scratch directory left behind');
  rmSync(privateTmp, { recursive: true, force: true });
});

test('with the S3 destination down the backup lands locally, is marked degraded and exits 1 naming it', async () => {
  const f = fx();
  await f.stopS3();
  try {
    const r = await f.cli(['backup', 'create', '--env', 'production', '--json']);
    assert.equal(r.code, 1, r.stderr);
    const res = JSON.parse(r.stdout) as { id: string; degraded: boolean; failedDestinations: Array<{ name: string }>; manifest: BackupManifest };
    assert.equal(res.degraded, true);
    assert.deepEqual(res.failedDestinations.map((d) => d.name), ['s3']);
    assert.deepEqual(res.manifest.destinations, ['local']);
    assert.match(r.stderr, /is DEGRADED: destination\(s\) failed: s3/);
    assert.ok(existsSync(join(f.localPath, 'production', res.id, 'manifest.json')));
    const list = await f.cli(['backup', 'list']);
    assert.match(list.stdout, new RegExp(`${res.id}.*local .*DEGRADED`));
    // status (rule 2) shows it
    Object.assign(process.env, f.env);
    const { openContext } = await import('../../src/context.js');
    const { checks } = await import('../../src/status/checks/backup.js');
    const ctx = openContext({ cwd: f.dir });
    try {
      const c = await checks.find((x) => x.id === 'backup.last-not-degraded')!.run(ctx);
      assert.equal(c.state, 'failing');
      assert.match(c.reason, new RegExp(`last backup ${res.id} is DEGRADED — missing on s3`));
      const two = await checks.find((x) => x.id === 'backup.two-destinations')!.run(ctx);
      assert.equal(two.state, 'ok');
    } finally {
      await ctx.close();
    }
    // The degraded backup is still a real backup: it verifies from the copy that exists.
    const v = await f.cli(['backup', 'verify', res.id, '--json']);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  } finally {
    await f.startS3();
  }
});

test('a wrong endpoint port for S3 is also a degraded backup, not a lost one', async () => {
  const f = fx();
  const { freePort } = await import('../../src/pg/cluster.js');
  f.config({ s3Port: await freePort() });
  try {
    const r = await f.cli(['backup', 'create', '--env', 'production', '--json']);
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.stdout).manifest.destinations, ['local']);
  } finally {
    f.config();
  }
});

test('no recipients configured: usage error before anything is written', async () => {
  const f = fx();
  f.config({ recipients: [] });
  try {
    const before = readdirSync(join(f.localPath, 'production')).length;
    const r = await f.cli(['backup', 'create', '--env', 'production']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /backups are encrypted: add age public keys/);
    assert.equal(readdirSync(join(f.localPath, 'production')).length, before);
    const audit = readFileSync(join(f.dir, '.prodguard', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { action: string; verdict: string });
    assert.deepEqual([audit.at(-1)!.action, audit.at(-1)!.verdict], ['backup.create', 'refused'], 'refused runs are audited too');
  } finally {
    f.config();
  }
});

test('noEncrypt in the config stores a plain pg_dump that still verifies', async () => {
  const f = fx();
  f.config({ noEncrypt: true, recipients: [] });
  try {
    const r = await f.cli(['backup', 'create', '--env', 'production', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const m = (JSON.parse(r.stdout) as { manifest: BackupManifest }).manifest;
    assert.deepEqual(m.objects.map((o) => [o.name, o.encrypted]), [['dump.pgcustom', false], ['database.json', false], ['globals.sql', false]]);
    const v = await f.cli(['backup', 'verify', m.id, '--json'], { PRODGUARD_AGE_IDENTITY: '' });
    assert.equal(v.code, 0, v.stderr);
  } finally {
    f.config();
  }
});

test('an unknown environment is a one-line usage error', async () => {
  const r = await fx().cli(['backup', 'create', '--env', 'nope']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^prodguard: unknown environment "nope"; configured: production\n$/);
});

test('directory format (parallel pg_dump -j) stores one encrypted object per file and verifies', async () => {
  const f = fx();
  f.config({ format: 'directory' });
  try {
    const r = await f.cli(['backup', 'create', '--env', 'production', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const m = (JSON.parse(r.stdout) as { manifest: BackupManifest }).manifest;
    assert.equal(m.format, 'directory');
    const names = m.objects.map((o) => o.name);
    assert.ok(names.includes('dump.d/toc.dat.age'), names.join(','));
    assert.ok(names.filter((n) => /^dump\.d\/\d+\.dat\.gz\.age$/.test(n)).length >= 4, names.join(','));
    const v = await f.cli(['backup', 'verify', m.id, '--json']);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  } finally {
    f.config();
  }
});

test('a backup whose manifest is gone (half-pruned) is never listed and cannot be verified', async () => {
  const f = fx();
  const m = await create();
  // What an interrupted prune leaves: manifests deleted, data still there, catalog entry gone.
  rmSync(join(f.localPath, 'production', m.id, 'manifest.json'));
  rmSync(s3Object(m.id, 'manifest.json'));
  const sync = await f.cli(['backup', 'sync-catalog', '--json']);
  assert.equal(sync.code, 0, sync.stderr);
  assert.ok(JSON.parse(sync.stdout).removed.includes(m.id));
  const list = JSON.parse((await f.cli(['backup', 'list', '--json'])).stdout) as BackupManifest[];
  assert.equal(list.some((b) => b.id === m.id), false);
  const v = await f.cli(['backup', 'verify', m.id]);
  assert.equal(v.code, 2);
  assert.match(v.stderr, /unknown backup/);
  // prune removes the manifest-less leftovers once past the grace period.
  const dry = await f.cli(['backup', 'prune', '--dry-run', '--grace', '0s', '--json']);
  assert.ok((JSON.parse(dry.stdout) as { leftovers: Array<{ key: string }> }).leftovers.some((l) => l.key.includes(m.id)));
  assert.ok(existsSync(join(f.localPath, 'production', m.id, 'dump.pgcustom.age')), 'dry run deletes nothing');
});
