import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, runCli } from '../helpers/cli.js';
import { sharedCluster, createDatabase, sql } from '../helpers/pg.js';

const cluster = sharedCluster();

test('guard -- takes and verifies a staging backup before a backup-first command, then runs it; the next run reuses the backup', async () => {
  const stagingUrl = await createDatabase(cluster(), 'guard_staging');
  await sql(stagingUrl, 'create table businesses (id int primary key, name text); insert into businesses select g, md5(g::text) from generate_series(1, 50) g;');
  const p = makeProject({
    'prodguard.yaml': `version: 1
environments:
  staging:
    kind: staging
    urlEnv: STAGING_URL
  production:
    kind: production
    urlEnv: PROD_URL
    supabaseRef: qwikkerprod123456789
backup:
  encryption:
    noEncrypt: true
  destinations:
    - name: local-disk
      type: local
      path: .prodguard/backups
guard:
  backupMaxAge: 1h
`,
  });
  const env = { STAGING_URL: stagingUrl, PROD_URL: 'postgresql://postgres:x@db.qwikkerprod123456789.supabase.co:5432/postgres' };
  try {
    const check = await runCli(['check', `psql "$STAGING_URL" -c 'drop table businesses'`], { cwd: p.dir, env });
    assert.equal(check.code, 3, check.stdout + check.stderr);
    const first = await runCli(['guard', '--', 'psql', stagingUrl, '-c', 'drop table businesses'], { cwd: p.dir, env, timeoutMs: 180_000 });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /taking one first/);
    assert.match(first.stderr, /taken and verified/);
    const gone = await sql(stagingUrl, "select to_regclass('public.businesses') as t");
    assert.equal((gone as Array<{ t: string | null }>)[0]?.t ?? null, null);
    const second = await runCli(['guard', '--', 'psql', stagingUrl, '-c', 'drop table if exists other'], { cwd: p.dir, env, timeoutMs: 180_000 });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /using verified backup/);
    const audit = readFileSync(join(p.dir, '.prodguard/audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const runs = audit.filter((r) => r.action === 'guard.run');
    assert.equal(runs.length, 2);
    assert.equal(runs[0].verdict, 'backup-first');
    assert.equal(runs[0].details.ran, true);
    assert.ok(runs[0].details.backupId);
  } finally {
    p.cleanup();
  }
});
