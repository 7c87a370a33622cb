/**
 * Issue #15 items 4 and 5: no plaintext rests on disk after kill -9 of a directory-format backup;
 * leftovers of crashed runs are listed (`backup list --leftovers`, status) and pruned; a wrong key
 * is found from one header before any bulk download; a destination whose manifest disappeared is
 * reported as damaged by sync-catalog and verify.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupFixture } from './fixture.js';
import { CLI, TSX } from '../helpers/cli.js';

const fx = backupFixture('plainshop', {
  // Enough rows that pg_dump -Fd is still writing when the kill comes.
  extraSql: `CREATE TABLE public.bulk (id int, secret text); INSERT INTO public.bulk SELECT g, 'PLAINTEXT-MARKER-' || g FROM generate_series(1, 300000) g;`,
});

function privateTmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'prodguard-plain-tmp-'));
  chmodSync(d, 0o755); // throw-away clusters' OS user must reach directories below it
  return d;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

test('kill -9 of a directory-format backup leaves no plaintext in the temp dir', async () => {
  const f = fx();
  f.config({ format: 'directory' });
  const tmp = privateTmp();
  try {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, ...f.env, TMPDIR: tmp })) if (v !== undefined) env[k] = v;
    const child = spawn(process.execPath, ['--import', TSX, CLI, 'backup', 'create', '--env', 'production', '--quiet'], { cwd: f.dir, env, stdio: 'ignore' });
    // Wait until pg_dump has written table data into the working directory, then kill -9.
    const deadline = Date.now() + 60_000;
    let sawPlain = false;
    while (Date.now() < deadline && child.exitCode === null) {
      const dirs = readdirSync(tmp).filter((n) => n.startsWith('prodguard-dump-'));
      if (dirs.length && existsSync(join(tmp, dirs[0], 'dump')) && readdirSync(join(tmp, dirs[0], 'dump')).some((n) => /\.dat/.test(n))) {
        sawPlain = true;
        assert.equal(statSync(join(tmp, dirs[0])).mode & 0o777, 0o700, 'the working dir is private');
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(sawPlain, 'caught the dump while it was being written');
    child.kill('SIGKILL');
    // The watchdog removes the directory once the process is gone (it polls every 0.2 s).
    const gone = Date.now() + 15_000;
    while (Date.now() < gone && readdirSync(tmp).some((n) => n.startsWith('prodguard-dump-'))) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    const left = filesUnder(tmp).filter((p) => !p.includes('tsx-'));
    for (const p of left) assert.ok(!readFileSync(p).includes('PLAINTEXT-MARKER'), `plaintext left in ${p}`);
    assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('prodguard-')), [], 'no working directory left');
  } finally {
    f.config();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('leftovers of crashed runs are listed, failing in status, and removed by prune', async () => {
  const f = fx();
  const tmp = privateTmp();
  try {
    // A working dir whose owner died without its watchdog (e.g. a reboot mid-restore).
    const dead = spawnSync('true').pid!;
    const leftover = join(tmp, 'prodguard-restore-abc123');
    mkdirSync(join(leftover, 'dump.d'), { recursive: true, mode: 0o700 });
    writeFileSync(join(leftover, '.prodguard-owner'), `${dead}\n`);
    writeFileSync(join(leftover, 'dump.d', 'toc.dat'), 'x'.repeat(1000));
    // And a partial object on the local destination.
    mkdirSync(join(f.localPath, 'production', '20260101T000000Z-abcdef'), { recursive: true });
    writeFileSync(join(f.localPath, 'production', '20260101T000000Z-abcdef', '.tmp-1-aa-dump.pgcustom.age'), 'partial');
    const env = { TMPDIR: tmp };
    const l = await f.cli(['backup', 'list', '--leftovers', '--json'], env);
    assert.equal(l.code, 0, l.stderr);
    const out = JSON.parse(l.stdout);
    assert.deepEqual(out.local.map((x: any) => [x.path, x.running]), [[leftover, false]]);
    assert.ok(out.destinations.some((x: any) => x.key.endsWith('.tmp-1-aa-dump.pgcustom.age') && x.kind === 'temp-file'));
    const text = await f.cli(['backup', 'list', '--leftovers'], env);
    assert.match(text.stdout, /LEFTOVER \(owner gone; may hold plaintext\)/);
    const st = await f.cli(['status', '--json'], env);
    assert.ok(st.stdout.includes('backup.leftovers'), 'status reports the leftovers check');
    assert.match(st.stdout, /working dir\(s\) of crashed runs/);
    const p = await f.cli(['backup', 'prune', '--yes', '--json'], env);
    assert.equal(p.code, 0, p.stderr);
    assert.deepEqual(JSON.parse(p.stdout).localLeftovers, [leftover]);
    assert.equal(existsSync(leftover), false);
  } finally {
    rmSync(join(f.localPath, 'production', '20260101T000000Z-abcdef'), { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('a wrong key is found from one header, before the damaged bulk data is even read', async () => {
  const f = fx();
  const c = await f.cli(['backup', 'create', '--env', 'production', '--json']);
  assert.equal(c.code, 0, c.stderr);
  const m = JSON.parse(c.stdout).manifest;
  // Damage the dump on both destinations: a full download would fail on the checksum first.
  const dump = join(f.localPath, 'production', m.id, 'dump.pgcustom.age');
  const bytes = readFileSync(dump);
  bytes[bytes.length - 10] ^= 0xff;
  writeFileSync(dump, bytes);
  const s3dump = filesUnder(f.s3Dir).find((p) => p.includes(m.id) && p.includes('dump.pgcustom.age') && !p.endsWith('metadata.json'));
  if (s3dump) {
    const b = readFileSync(s3dump);
    b[b.length - 10] ^= 0xff;
    writeFileSync(s3dump, b);
  }
  const { generateKeyPair } = await import('../../src/backup/encryption.js');
  const other = await generateKeyPair();
  // Before: every copy was hashed and downloaded first, so this failed on the damage (exit 1, recorded).
  const r = await f.cli(['backup', 'verify', m.id], { PRODGUARD_AGE_IDENTITY: other.identity });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /wrong key/);
  rmSync(join(f.localPath, 'production', m.id), { recursive: true, force: true });
});

test('a destination whose manifest disappeared is reported damaged by sync-catalog and verify', async () => {
  const f = fx();
  const c = await f.cli(['backup', 'create', '--env', 'production', '--json']);
  assert.equal(c.code, 0, c.stderr);
  const id = JSON.parse(c.stdout).id as string;
  rmSync(join(f.localPath, 'production', id, 'manifest.json'));
  const s = await f.cli(['backup', 'sync-catalog', '--json']);
  assert.equal(s.code, 1, s.stderr);
  const out = JSON.parse(s.stdout);
  assert.deepEqual(out.damaged.filter((d: any) => d.id === id), [{ id, destination: 'local', problem: 'manifest.json is missing' }]);
  assert.match(s.stderr, /is damaged on destination local \(manifest\.json is missing\)/);
  const v = await f.cli(['backup', 'verify', id, '--json']);
  assert.equal(v.code, 1, v.stderr);
  const res = JSON.parse(v.stdout);
  assert.equal(res.ok, false);
  assert.ok(res.problems.some((p: string) => /destination local: manifest\.json is missing/.test(p)), res.problems.join('\n'));
});
