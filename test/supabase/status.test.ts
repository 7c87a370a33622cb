/**
 * status for hosted Supabase: rule 2's PITR check passes with the platform's PITR add-on — read
 * from the Management API (a local HTTP stand-in; GET only, bearer token) or declared in the config
 * (shown as declared) — and "two places" means two independent places, not two folders on one disk.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { makeProject } from '../helpers/cli.js';
import { openContext } from '../../src/context.js';
import { checks as recoveryChecks } from '../../src/status/checks/recovery.js';
import { checks as backupChecks } from '../../src/status/checks/backup.js';

const project = makeProject();
after(() => project.cleanup());
const TOKEN = 'sbp_0123456789abcdef0123456789abcdef01234567';

function writeConfig(extra: Record<string, unknown>, destinations: unknown[] = [{ name: 'a', type: 'local', path: 'backups-a' }, { name: 'b', type: 's3', bucket: 'b', endpoint: 'http://127.0.0.1:9' }]) {
  writeFileSync(
    join(project.dir, 'prodguard.yaml'),
    stringify({
      version: 1,
      environments: { production: { kind: 'production', urlEnv: 'SB_STATUS_PROD_URL', supabaseRef: 'abcdefghijklmnop' } },
      backup: { encryption: { noEncrypt: true }, destinations },
      ...extra,
    }),
  );
}

async function check(list: typeof recoveryChecks, id: string) {
  const ctx = openContext({ cwd: project.dir });
  try {
    return await list.find((c) => c.id === id)!.run(ctx);
  } finally {
    await ctx.close();
  }
}

process.env.SB_STATUS_PROD_URL = 'postgresql://postgres:x@127.0.0.1:1/postgres';

test('hosted project without PITR information: missing, with what to do', async () => {
  delete process.env.SB_TEST_TOKEN;
  writeConfig({ supabase: { accessTokenEnv: 'SB_TEST_TOKEN' } });
  const r = await check(recoveryChecks, 'recovery.guarantees');
  assert.equal(r.state, 'missing');
  assert.match(r.reason, /supabase\.pitr: addon/);
});

test('declared add-on: ok, shown as declared and not verified', async () => {
  writeConfig({ supabase: { pitr: 'addon', accessTokenEnv: 'SB_TEST_TOKEN' } });
  const r = await check(recoveryChecks, 'recovery.guarantees');
  assert.equal(r.state, 'ok', r.reason);
  assert.match(r.reason, /declared in prodguard\.yaml.*not verified/);
  assert.equal((r.details?.production as { pitr: string }).pitr, 'declared');
});

test('Management API (local stand-in): read-only GET with the token; enabled → ok with the window, disabled → missing even if declared', async () => {
  const seen: Array<{ method?: string; url?: string; auth?: string }> = [];
  let enabled = true;
  const server = createServer((req: IncomingMessage, res) => {
    seen.push({ method: req.method, url: req.url, auth: req.headers.authorization });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(401).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({ region: 'eu-central-1', walg_enabled: true, pitr_enabled: enabled, backups: [], physical_backup_data: { earliest_physical_backup_date_unix: 1764000000, latest_physical_backup_date_unix: 1764100000 } }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    process.env.SB_TEST_TOKEN = TOKEN;
    writeConfig({ supabase: { pitr: 'addon', accessTokenEnv: 'SB_TEST_TOKEN', apiUrl: `http://127.0.0.1:${port}` } });
    const ok = await check(recoveryChecks, 'recovery.guarantees');
    assert.equal(ok.state, 'ok', ok.reason);
    assert.match(ok.reason, /PITR add-on enabled \(Management API\), window 2025-11-24T16:00:00\.000Z/);
    assert.ok(!ok.reason.includes(TOKEN));
    assert.deepEqual(seen.map((s) => [s.method, s.url]), [['GET', '/v1/projects/abcdefghijklmnop/database/backups']]);
    enabled = false;
    const off = await check(recoveryChecks, 'recovery.guarantees');
    assert.equal(off.state, 'missing', 'the API answer wins over the declaration');
    assert.match(off.reason, /not enabled/);
    process.env.SB_TEST_TOKEN = 'sbp_wrongwrongwrongwrongwrongwrong';
    const denied = await check(recoveryChecks, 'recovery.guarantees');
    assert.equal(denied.state, 'missing');
    assert.match(denied.reason, /answered 401/);
    assert.ok(seen.every((s) => s.method === 'GET'));
  } finally {
    delete process.env.SB_TEST_TOKEN;
    server.close();
  }
});

test('two folders on one disk are one place; local + S3 are two', async () => {
  writeConfig({}, [{ name: 'a', type: 'local', path: 'backups-a' }, { name: 'b', type: 'local', path: 'backups-b' }]);
  const one = await check(backupChecks, 'backup.two-destinations');
  assert.equal(one.state, 'failing');
  assert.match(one.reason, /one place: a \+ b on local disk/);
  writeConfig({});
  const two = await check(backupChecks, 'backup.two-destinations');
  assert.equal(two.state, 'ok', two.reason);
});

test('init for Supabase: two independent places from named variables, no placeholder bucket, connection advice', async () => {
  const { runCli } = await import('../helpers/cli.js');
  const { readFileSync } = await import('node:fs');
  const { checkConfigText } = await import('../../src/config/load.js');
  const p = makeProject({ 'supabase/config.toml': 'project_id = "qwikker"\n', 'supabase/migrations/20260101000000_init.sql': 'select 1;\n', 'supabase/.temp/project-ref': 'qwikkerprod\n' });
  try {
    const r = await runCli(['init', '--yes', '--second-place', 'dir'], { cwd: p.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /session pooler.*5432.*never the transaction pooler on port 6543/s);
    const text = readFileSync(join(p.dir, 'prodguard.yaml'), 'utf8');
    assert.doesNotMatch(text, /CHANGE-ME|\.prodguard\/backups/);
    const { config } = checkConfigText(text);
    assert.deepEqual(config!.backup.destinations.map((d) => (d.type === 'local' ? d.path : d.bucket)), ['${PRODGUARD_BACKUP_BUCKET}', '${PRODGUARD_BACKUP_DIR}']);
    // An unset variable is a clear one-line error when backing up, naming the variable.
    const b = await runCli(['backup', 'create', '--env', 'production'], { cwd: p.dir, env: { PRODUCTION_DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/postgres', PRODGUARD_BACKUP_BUCKET: '', PRODGUARD_BACKUP_DIR: '', PRODGUARD_AGE_IDENTITY: '' } });
    assert.notEqual(b.code, 0);
    assert.equal(b.stderr.trim().split('\n').length, 1, b.stderr);
    const { expandDestination } = await import('../../src/backup/destinations/vars.js');
    assert.throws(() => expandDestination(config!.backup.destinations[1], {}), /destination "second": set PRODGUARD_BACKUP_DIR/);
    assert.equal((expandDestination(config!.backup.destinations[1], { PRODGUARD_BACKUP_DIR: '/mnt/b' }) as { path: string }).path, '/mnt/b');
    const bad = await runCli(['init', '--yes', '--force', '--second-place', 'floppy'], { cwd: p.dir });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /not s3 or dir/);
  } finally {
    p.cleanup();
  }
});
