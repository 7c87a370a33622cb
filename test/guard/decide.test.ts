import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decide } from '../../src/guard/decide.js';
import { guardRules } from '../../src/guard/rules/index.js';
import { fixtureEnv, PROD_URL } from './env.js';

const here = dirname(fileURLToPath(import.meta.url));

/** A private copy of the fixture project, so files written by tests never touch the repo. */
function fixture(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'prodguard-guard-'));
  cpSync(join(here, 'fixture'), dir, { recursive: true });
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function corpus(name: string): string[] {
  return readFileSync(join(here, 'corpus', name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => l.replace(/↵/g, '\n'));
}

const f = fixture();
process.on('exit', f.cleanup);
const check = (command: string, env: Record<string, string> = fixtureEnv, cwd = f.dir) => decide({ command, cwd, env });

test('every dangerous command in the corpus is denied or needs a backup first (100%)', async () => {
  const lines = corpus('dangerous.txt');
  assert.ok(lines.length >= 400, `only ${lines.length} dangerous commands`);
  const missed: string[] = [];
  let backupFirst = 0;
  for (const c of lines) {
    const d = await check(c);
    if (d.decision === 'allow') missed.push(`${c}  →  ${d.reason}`);
    if (d.decision === 'backup-first') backupFirst++;
  }
  console.log(`dangerous corpus: ${lines.length - missed.length}/${lines.length} stopped (${backupFirst} backup-first)`);
  assert.deepEqual(missed, []);
});

test('every benign command in the corpus is allowed (100%)', async () => {
  const lines = corpus('benign.txt');
  assert.ok(lines.length >= 400, `only ${lines.length} benign commands`);
  const wrong: string[] = [];
  for (const c of lines) {
    const d = await check(c);
    if (d.decision !== 'allow') wrong.push(`${c}  →  ${d.decision}: ${d.reason}`);
  }
  console.log(`benign corpus: ${lines.length - wrong.length}/${lines.length} allowed`);
  assert.deepEqual(wrong, []);
});

test('every rule has examples, and each example decides as documented', async () => {
  for (const r of guardRules) {
    assert.ok(r.examples.deny.length > 0 && r.examples.allow.length > 0, `${r.id} needs examples`);
    for (const c of r.examples.deny) {
      const d = await check(c);
      assert.notEqual(d.decision, 'allow', `${r.id}: expected "${c}" to be stopped, got: ${d.reason}`);
    }
    if (r.examples.reason !== undefined) {
      // Rules with an exact reason (one rule per operation): the first example is stopped by this rule, with these words.
      const d = await check(r.examples.deny[0]);
      assert.equal(d.ruleId, r.id, r.examples.deny[0]);
      assert.equal(d.reason, r.examples.reason, r.id);
    }
    for (const c of r.examples.allow) {
      const d = await check(c);
      assert.equal(d.decision, 'allow', `${r.id}: expected "${c}" to be allowed, got: ${d.reason}`);
    }
  }
});

test('supabase db reset --linked against the production link is denied with a one-line reason naming the project', async () => {
  const d = await check('supabase db reset --linked');
  assert.equal(d.decision, 'deny');
  assert.equal(d.ruleId, 'supabase-db-reset');
  assert.equal(d.target.name, 'production');
  assert.equal(d.reason, '`supabase db reset --linked` drops every user-created table, function and row in the linked project qwikker-prod (production). Use `prodguard restore` into staging instead; reset only the local stack (`supabase db reset` without --linked).');
  assert.ok(!d.reason.includes('\n'));
});

test('a script written to a file and then run is analysed (the agent-bypass from REFERENCE.md)', async () => {
  writeFileSync(join(f.dir, 'reset.sh'), '#!/bin/sh\nset -e\necho "cleaning up"\nsupabase db reset --linked\n');
  for (const c of ['bash reset.sh', 'sh ./reset.sh', 'source reset.sh', 'FOO=1 bash -c "bash reset.sh"']) {
    const d = await check(c);
    assert.equal(d.decision, 'deny', c);
    assert.equal(d.ruleId, 'supabase-db-reset', c);
  }
  writeFileSync(join(f.dir, 'report.sh'), 'psql "$PRODUCTION_DATABASE_URL" -c "select count(*) from businesses"\n');
  assert.equal((await check('bash report.sh')).decision, 'allow');
});

test('a script that does not exist yet is refused when the project could reach production', async () => {
  const d = await check('bash not-written-yet-reset.sh');
  assert.equal(d.decision, 'deny');
  assert.match(d.reason, /cannot tell what this does/);
});

test('staging follows its policy: destructive commands need a backup first', async () => {
  const d = await check(`psql "$STAGING_DATABASE_URL" -c 'drop table businesses'`);
  assert.equal(d.decision, 'backup-first');
  assert.equal(d.target.name, 'staging');
});

test('without a prodguard.yaml, remote targets are unknown: destructive is denied, local is allowed', async () => {
  const bare = mkdtempSync(join(tmpdir(), 'prodguard-bare-'));
  try {
    const env = { PATH: '/usr/bin:/bin', DATABASE_URL: PROD_URL };
    const d = await decide({ command: `psql "$DATABASE_URL" -c 'drop table x'`, cwd: bare, env, config: null });
    assert.equal(d.decision, 'deny');
    assert.equal(d.target.kind, 'unknown');
    assert.match(d.reason, /fail closed/);
    assert.equal((await decide({ command: 'supabase db reset', cwd: bare, env, config: null })).decision, 'allow');
    assert.equal((await decide({ command: `psql "$DATABASE_URL" -c 'select 1'`, cwd: bare, env, config: null })).decision, 'allow');
  } finally {
    rmSync(bare, { recursive: true, force: true });
  }
});

test('a psql service name resolves through the service file', async () => {
  const svc = join(f.dir, 'pg_service.conf');
  writeFileSync(svc, '[prod]\nhost=db.qwikkerprod123456789.supabase.co\nport=5432\ndbname=postgres\n\n[dev]\nhost=localhost\n');
  const env = { ...fixtureEnv, PGSERVICEFILE: svc };
  const d = await check(`psql service=prod -c 'truncate orders'`, env);
  assert.equal(d.decision, 'deny');
  assert.equal(d.target.name, 'production');
  assert.equal((await check(`PGSERVICE=dev psql -c 'truncate orders'`, env)).decision, 'allow');
});

test('custom rules from prodguard.yaml match the unwrapped words', async () => {
  const d = await check('sudo ./bin/nuke --yes');
  assert.equal(d.decision, 'deny');
  assert.equal(d.ruleId, 'custom:no-nuke');
  assert.match(d.reason, /wipes the shared demo data/);
});

test('secrets in connection strings never appear in reasons or steps', async () => {
  const d = await check(`psql "$PRODUCTION_DATABASE_URL" -c 'drop table businesses'`);
  assert.equal(d.decision, 'deny');
  assert.ok(!JSON.stringify({ r: d.reason, s: d.steps, f: d.findings.map((x) => x.reason) }).includes('s3cret'));
});

test('commands that are not database commands are allowed without parsing', async () => {
  const d = await check('git status');
  assert.equal(d.decision, 'allow');
  assert.match(d.steps[0], /fast path/);
});
