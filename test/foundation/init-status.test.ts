import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, runCli } from '../helpers/cli.js';
import { checkConfigText } from '../../src/config/load.js';

test('init in a Supabase project detects the layout and the linked production ref', async () => {
  const p = makeProject({ 'supabase/config.toml': 'project_id = "qwikker"\n', 'supabase/migrations/20260101000000_init.sql': 'select 1;\n', 'supabase/.temp/project-ref': 'qwikkerprod\n' });
  const r = await runCli(['init', '--yes', '--staging-ref', 'qwikkerstage', '--senior', 'alice', '--senior', 'bob', '--json'], { cwd: p.dir });
  assert.equal(r.code, 0, r.stderr);
  const text = readFileSync(join(p.dir, 'prodguard.yaml'), 'utf8');
  const { config, problems } = checkConfigText(text);
  assert.deepEqual(problems, []);
  assert.equal(config!.project.layout, 'supabase');
  assert.equal(config!.project.name, 'qwikker');
  assert.equal(config!.environments.production.supabaseRef, 'qwikkerprod');
  assert.equal(config!.environments.staging.supabaseRef, 'qwikkerstage');
  assert.equal(config!.environments.production.urlEnv, 'PRODUCTION_DATABASE_URL');
  assert.equal(config!.backup.destinations.length, 2);
  assert.deepEqual(config!.team.map((m) => m.name), ['alice', 'bob']);
  assert.doesNotMatch(text, /postgres(ql)?:\/\//);
  p.cleanup();
});

test('init in a plain project uses migrations/ and the given variable names', async () => {
  const p = makeProject({ 'migrations/001_init.sql': 'select 1;\n' });
  const r = await runCli(['init', '--yes', '--production-url-env', 'PROD_DB', '--staging-url-env', 'STAGE_DB'], { cwd: p.dir });
  assert.equal(r.code, 0, r.stderr);
  const { config } = checkConfigText(readFileSync(join(p.dir, 'prodguard.yaml'), 'utf8'));
  assert.equal(config!.project.layout, 'plain');
  assert.equal(config!.project.migrationsDir, 'migrations');
  assert.equal(config!.environments.production.urlEnv, 'PROD_DB');
  p.cleanup();
});

test('init refuses to overwrite without --force, refuses a URL as a variable name, and needs --yes without a terminal', async () => {
  const p = makeProject({ 'prodguard.yaml': 'keep: me\n' });
  const refused = await runCli(['init', '--yes'], { cwd: p.dir });
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /already exists; use --force/);
  assert.equal(readFileSync(join(p.dir, 'prodguard.yaml'), 'utf8'), 'keep: me\n');
  const url = await runCli(['init', '--yes', '--force', '--production-url-env', 'postgresql://u:secret@h/db'], { cwd: p.dir });
  assert.equal(url.code, 2);
  assert.doesNotMatch(url.stderr, /secret/);
  const noTty = await runCli(['init', '--force'], { cwd: p.dir });
  assert.equal(noTty.code, 2);
  assert.match(noTty.stderr, /pass --yes/);
  const forced = await runCli(['init', '--yes', '--force'], { cwd: p.dir });
  assert.equal(forced.code, 0, forced.stderr);
  p.cleanup();
});

test('status reports all six rules as JSON, and --strict exits 1 when any is not ok', async () => {
  const p = makeProject();
  assert.equal((await runCli(['init', '--yes'], { cwd: p.dir })).code, 0);
  const r = await runCli(['status', '--json'], { cwd: p.dir });
  assert.equal(r.code, 0, r.stderr);
  const card = JSON.parse(r.stdout) as { ok: boolean; rules: Array<{ rule: number; state: string; reason: string }> };
  assert.deepEqual(card.rules.map((x) => x.rule), [1, 2, 3, 4, 5, 6]);
  for (const rule of card.rules) {
    assert.match(rule.state, /^(ok|missing|failing)$/);
    assert.ok(rule.reason.length > 0);
  }
  assert.equal(card.ok, false);
  const strict = await runCli(['status', '--strict'], { cwd: p.dir });
  assert.equal(strict.code, 1);
  assert.match(strict.stderr, /rule\(s\) not ok/);
  p.cleanup();
});

test('init names the linked-project file when the ref it recorded is not a valid Supabase ref', async () => {
  const p = makeProject({ 'supabase/config.toml': 'project_id = "acme"\n', 'supabase/.temp/project-ref': 'Not-A-Ref\n' });
  const r = await runCli(['init', '--yes'], { cwd: p.dir });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /supabase\/\.temp\/project-ref .*"Not-A-Ref" is not a Supabase project ref/);
  const ok = await runCli(['init', '--yes', '--production-ref', 'acmeprod'], { cwd: p.dir });
  assert.equal(ok.code, 0, ok.stderr);
  p.cleanup();
});
