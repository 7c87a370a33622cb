// Red team w5data claim 4: kill -9 of `backup verify` / `drill` (their whole process group) left the
// throw-away cluster holding restored production data running on 127.0.0.1 with `trust` for all,
// readable by any local OS user, and `status` / `backup list --leftovers` did not report it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupFixture } from './fixture.js';
import { CLI, TSX } from '../helpers/cli.js';
import { processAlive } from '../../src/os/process-alive.js';

// Enough rows that the restore takes a moment after the cluster is up.
const fx = backupFixture('throwaway', {
  extraSql: `CREATE TABLE public.secrets_tbl AS SELECT g AS id, 'key-' || md5(g::text) AS api_key, repeat(md5(g::text), 4) AS pad FROM generate_series(1, 150000) g`,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function throwAwayDirs(prefix: string): string[] {
  return readdirSync(tmpdir())
    .filter((n) => n.startsWith(prefix) && /^[A-Za-z0-9]{6}$/.test(n.slice(prefix.length)))
    .map((n) => join(tmpdir(), n));
}

function postmaster(dir: string): { pid: number; port: number } | null {
  try {
    const lines = readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n');
    // Line 8 is the server's status; 'ready' once it accepts connections.
    if (!/ready/.test(lines[7] ?? '')) return null;
    return { pid: Number(lines[0]), port: Number(lines[3]) };
  } catch {
    return null;
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function killRunWhenClusterUp(args: string[], prefix: string) {
  const f = fx();
  const before = new Set(throwAwayDirs(prefix));
  // Its own process group, killed whole, as the red team did (kill -9 -- -pgid).
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], { cwd: f.dir, env: { ...process.env, ...f.env }, stdio: 'ignore', detached: true });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  let found: { dir: string; pid: number; port: number } | null = null;
  for (let i = 0; i < 3000 && !found; i++) {
    for (const d of throwAwayDirs(prefix)) {
      if (before.has(d)) continue;
      const pm = postmaster(d);
      if (pm) found = { dir: d, ...pm };
    }
    if (!found) await sleep(20);
  }
  assert.ok(found, `${args.join(' ')}: no throw-away cluster came up`);
  // While it runs: no TCP listener, and another OS user cannot reach its socket.
  const tcp = await tcpOpen(found.port);
  let otherUser: ReturnType<typeof spawnSync> | null = null;
  if (process.getuid?.() === 0) {
    otherUser = spawnSync('runuser', ['-u', 'nobody', '--', 'psql', '-h', found.dir, '-p', String(found.port), '-U', 'postgres', '-d', 'postgres', '-Atc', 'select 1'], { encoding: 'utf8', timeout: 20_000 });
  }
  process.kill(-child.pid!, 'SIGKILL');
  await exited;
  assert.equal(tcp, false, `the throw-away cluster listens on 127.0.0.1:${found.port}`);
  if (otherUser) assert.notEqual(otherUser.status, 0, `OS user nobody connected to the throw-away cluster: ${otherUser.stdout}`);
  // The watchdog stops the server and removes its directory.
  for (let i = 0; i < 300 && (processAlive(found.pid) || existsSync(found.dir)); i++) await sleep(100);
  assert.equal(processAlive(found.pid), false, `the throw-away server (pid ${found.pid}) still runs after its owner was killed`);
  assert.equal(existsSync(found.dir), false, `${found.dir} (restored data) is left behind`);
}

test('kill -9 of backup verify: its throw-away cluster accepted no TCP or other-user connections and is stopped and removed', async () => {
  const f = fx();
  const r = await f.cli(['backup', 'create', '--env', 'production', '--json']);
  assert.equal(r.code, 0, r.stderr);
  await killRunWhenClusterUp(['backup', 'verify', 'latest'], 'prodguard-verify-');
});

test('kill -9 of drill: its throw-away cluster accepted no TCP or other-user connections and is stopped and removed', async () => {
  await killRunWhenClusterUp(['drill', '--env', 'production'], 'prodguard-drill-');
});

test('a throw-away cluster still running after its owner died is reported by backup list --leftovers and status, and prune stops it', async () => {
  const f = fx();
  const { createCluster } = await import('../../src/pg/cluster.js');
  const c = await createCluster({ name: 'prodguard-verify', private: true });
  // Its owner "died" without the watchdog acting (watchdog killed too): a pid that no longer exists.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(join(c.baseDir, '.prodguard-owner'), `${dead.stdout}\n`);
  const pid = Number(readFileSync(join(c.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  try {
    const list = await f.cli(['backup', 'list', '--leftovers']);
    assert.equal(list.code, 0, list.stderr);
    const line = list.stdout.split('\n').find((l) => l.includes(c.baseDir));
    assert.ok(line, list.stdout);
    assert.match(line, new RegExp(`LEFTOVER: throw-away PostgreSQL server pid ${pid} still RUNNING`));
    const st = await f.cli(['status', '--json']);
    const checks = (JSON.parse(st.stdout) as { rules: Array<{ checks: Array<{ id: string; state: string; reason: string }> }> }).rules.flatMap((x) => x.checks);
    const left = checks.find((x) => x.id === 'backup.leftovers');
    assert.equal(left?.state, 'failing');
    assert.match(left!.reason, /throw-away PostgreSQL server\(s\) .* still running on restored data/);
    const p = await f.cli(['backup', 'prune', '--yes', '--grace', '0s', '--json']);
    assert.equal(p.code, 0, p.stderr);
    for (let i = 0; i < 100 && processAlive(pid); i++) await sleep(100);
    assert.equal(processAlive(pid), false, 'prune stopped the left-behind server');
    assert.equal(existsSync(c.baseDir), false, 'prune removed its directory');
  } finally {
    c.running = processAlive(pid);
    await c.destroy();
  }
});

test('backup verify of a directory-format backup streams it: no decrypted table data is ever a file in the temp dir', async () => {
  const f = fx();
  const { chmodSync, mkdtempSync, rmSync, statSync } = await import('node:fs');
  f.config({ format: 'directory' });
  const privateTmp = mkdtempSync(join(tmpdir(), 'pg-verify-stream-'));
  chmodSync(privateTmp, 0o755); // like /tmp: the throw-away cluster's OS user (postgres, as root) reaches its own directory
  try {
    const r = await f.cli(['backup', 'create', '--env', 'production', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const id = (JSON.parse(r.stdout) as { id: string }).id;
    const child = spawn(process.execPath, ['--import', TSX, CLI, 'backup', 'verify', id, '--json'], { cwd: f.dir, env: { ...process.env, ...f.env, TMPDIR: privateTmp }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const code = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    const plaintext = new Set<string>();
    let polls = 0;
    const walk = (dir: string) => {
      let names: string[] = [];
      try {
        names = readdirSync(dir);
      } catch {
        return;
      }
      for (const n of names) {
        const p = join(dir, n);
        try {
          const st = statSync(p);
          if (st.isDirectory()) walk(p);
          // The streamed restore's stand-ins for pg_restore's list ("@@prodguard-entry N@@") carry no row.
          else if (st.isFile() && /^\d+\.dat(\.gz|\.lz4|\.zst)?$/.test(n) && st.size > 0 && !readFileSync(p, 'utf8').startsWith('@@prodguard-entry ')) plaintext.add(p);
        } catch {
          /* vanished */
        }
      }
    };
    const timer = setInterval(() => {
      polls++;
      walk(privateTmp);
    }, 5);
    const c = await code;
    clearInterval(timer);
    assert.equal(c, 0, out);
    assert.equal(JSON.parse(out).ok, true, out);
    assert.ok(polls > 10, 'the temp dir was watched while verify ran');
    assert.deepEqual([...plaintext], [], 'decrypted table data was written to the temp dir');
  } finally {
    f.config();
    rmSync(privateTmp, { recursive: true, force: true });
  }
});
