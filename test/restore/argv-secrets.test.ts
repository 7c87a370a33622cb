/**
 * No password in any pg tool's argv (issue #11 item 5): the cluster requires a password
 * (scram-sha-256) for the role prodguard uses, every URL carries it, and a watcher reads
 * /proc/<pid>/cmdline of every pg_dump / pg_dumpall / pg_restore / psql / pg_basebackup /
 * pg_receivewal child while prodguard runs them. The tools still authenticate (so the password
 * did reach them, through their environment), and no cmdline ever contains it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { sharedCluster, sql } from '../helpers/pg.js';
import { pitrProject } from './pitr-helpers.js';
import { contextFrom } from '../../src/context.js';
import { loadConfig } from '../../src/config/load.js';
import { startStreaming } from '../../src/restore/pitr/stream.js';
import { runCommand } from '../../src/pg/run-tool.js';
import { pgBin } from '../../src/pg/binaries.js';
import { toolConn } from '../../src/pg/tool-conn.js';
import { buildUri } from '../../src/pg/conninfo.js';

const cluster = sharedCluster({ name: 'prodguard-argv' });
// Restores go to another server (production's own server is refused by identity).
const other = sharedCluster({ name: 'prodguard-argv-other' });
const PASSWORD = 'Sup3r-Secret_pw';
const TOOLS = new Set(['pg_dump', 'pg_dumpall', 'pg_restore', 'psql', 'pg_basebackup', 'pg_receivewal']);

/** Polls /proc every few ms and keeps each pg tool process's cmdline. */
function watchProc() {
  const seen = new Map<number, { tool: string; cmdline: string }>();
  const scan = () => {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d) || seen.has(Number(d))) continue;
      let raw: string;
      try {
        raw = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      const argv = raw.split('\0');
      const tool = (argv[0] ?? '').split('/').pop() ?? '';
      if (TOOLS.has(tool)) seen.set(Number(d), { tool, cmdline: argv.join(' ') });
    }
  };
  const timer = setInterval(scan, 3);
  return { seen, stop: () => clearInterval(timer), scan };
}

test('toolConn takes the password out of URIs, ?password= and key=value strings', () => {
  assert.deepEqual(toolConn('postgresql://app:p%40ss@db.example.com:5433/shop?sslmode=require'), { conn: 'postgresql://app@db.example.com:5433/shop?sslmode=require', env: { PGPASSWORD: 'p@ss' } });
  assert.deepEqual(toolConn('postgres://app@/shop?host=/var/run/postgresql&password=x%20y'), { conn: 'postgres://app@/shop?host=/var/run/postgresql', env: { PGPASSWORD: 'x y' } });
  assert.throws(() => toolConn("host=db password='unterminated dbname=shop"), (e: Error) => /cannot parse/.test(e.message) && !e.message.includes('unterminated'));
  assert.deepEqual(toolConn("host=db password='s e\\'c' dbname=shop"), { conn: 'host=db dbname=shop', env: { PGPASSWORD: "s e'c" } });
  assert.deepEqual(toolConn('postgresql://app@localhost/shop'), { conn: 'postgresql://app@localhost/shop', env: {} });
});

test('every pg tool prodguard runs gets the password through its environment, never argv', async (t) => {
  const c = cluster();
  await sql(c.url(), `CREATE ROLE guarded LOGIN SUPERUSER REPLICATION PASSWORD '${PASSWORD}'`);
  await sql(c.url(), 'CREATE DATABASE app OWNER guarded');
  // Password required for guarded over TCP; postgres (the test's own admin) stays trusted.
  writeFileSync(join(c.dataDir, 'pg_hba.conf'), 'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost replication postgres 127.0.0.1/32 trust\nhost all guarded 127.0.0.1/32 scram-sha-256\nhost replication guarded 127.0.0.1/32 scram-sha-256\n');
  await runCommand(pgBin('pg_ctl'), ['-D', c.dataDir, 'reload'], { asUser: c.osUser });
  const url = buildUri({ host: c.host, port: c.port, database: 'app', user: 'guarded', password: PASSWORD });
  // The password really is required: without it libpq fails.
  const noPw = await runCommand(pgBin('psql'), ['-X', '-w', '-c', 'select 1', `--dbname=${buildUri({ host: c.host, port: c.port, database: 'app', user: 'guarded' })}`], { allowFailure: true, env: { PGPASSWORD: undefined } });
  assert.notEqual(noPw.code, 0);
  await sql(c.url('app'), `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g`);

  const p = await pitrProject(c, 'streaming', '  destinations:\n    - { name: local, type: local, path: backups }\n');
  t.after(p.cleanup);
  const env = { ...p.env, PRODUCTION_DATABASE_URL: url, STAGING_DATABASE_URL: buildUri({ host: other().host, port: other().port, database: 'postgres', user: 'postgres', password: PASSWORD }) };
  const cli = (args: string[]) => runCli(args, { cwd: p.dir, env });
  const w = watchProc();
  try {
    for (const args of [
      ['backup', 'create', '--env', 'production'],
      ['backup', 'verify', 'latest', '--env', 'production'],
      ['restore', 'latest', '--to', 'staging', '--new-database', 'copy1', '--unmasked'],
      ['pitr', 'enable', '--env', 'production'],
      ['pitr', 'base-backup', '--env', 'production'],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    const ctx = contextFrom(loadConfig({ cwd: p.dir }));
    t.after(() => ctx.close());
    const h = await startStreaming(ctx, 'production', { env });
    await new Promise((r) => setTimeout(r, 500));
    w.scan();
    await h.stop();
    await sql(c.url('app'), `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots`);
  } finally {
    w.stop();
  }
  const tools = new Set([...w.seen.values()].map((s) => s.tool));
  for (const tool of ['pg_dump', 'pg_restore', 'pg_basebackup', 'pg_receivewal']) assert.ok(tools.has(tool), `saw a running ${tool} (saw: ${[...tools].join(', ')})`);
  for (const s of w.seen.values()) {
    assert.ok(!s.cmdline.includes(PASSWORD), `${s.tool} had the password in argv: ${s.cmdline.replace(PASSWORD, '***')}`);
    assert.ok(!s.cmdline.includes(encodeURIComponent(PASSWORD)), `${s.tool} had the encoded password in argv`);
  }
  rmSync(join(p.dir, 'backups'), { recursive: true, force: true });
});
