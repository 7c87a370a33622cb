import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, minimalConfig, runCli } from '../helpers/cli.js';
import { checkConfigText } from '../../src/config/load.js';
import { resolveEnvironment } from '../../src/config/resolve-environment.js';
import { configSchema } from '../../src/config/schema.js';

test('config check names the line of a YAML syntax error', () => {
  const { problems } = checkConfigText('version: 1\nenvironments:\n  production: [unclosed\n');
  assert.ok(problems.length > 0);
  assert.ok(problems[0].line >= 3, JSON.stringify(problems));
});

test('config check names the line of an unknown key, a wrong enum and a bad variable name', () => {
  const text = minimalConfig().replace('kind: staging', 'kind: stagin').replace('urlEnv: LOCAL_DATABASE_URL', 'urlEnv: postgres://x:y@h/db') + 'bogus: 1\n';
  const { problems } = checkConfigText(text);
  const lines = text.split('\n');
  const at = (needle: string) => lines.findIndex((l) => l.includes(needle)) + 1;
  const byPath = Object.fromEntries(problems.map((p) => [p.path, p]));
  assert.equal(byPath['environments.staging.kind'].line, at('kind: stagin'));
  assert.match(byPath['environments.staging.kind'].message, /local|staging|production/);
  assert.equal(byPath['environments.local.urlEnv'].line, at('urlEnv: postgres://'));
  assert.equal(byPath['bogus'].line, at('bogus: 1'));
  assert.match(byPath['bogus'].message, /unknown key "bogus"/);
});

test('a config without a production environment is rejected', () => {
  const { problems } = checkConfigText('environments:\n  dev:\n    kind: local\n    urlEnv: X\n');
  assert.match(problems.map((p) => p.message).join('\n'), /kind: production/);
});

test('prodguard config check prints file:line:column for every problem and exits 2', async () => {
  const p = makeProject({ 'prodguard.yaml': minimalConfig().replace('kind: staging', 'kind: stagin') + 'extra: true\n' });
  const r = await runCli(['config', 'check'], { cwd: p.dir });
  assert.equal(r.code, 2);
  assert.match(r.stdout, /prodguard\.yaml:\d+:\d+: environments\.staging\.kind: /);
  assert.match(r.stdout, /prodguard\.yaml:\d+:\d+: extra: unknown key "extra"/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  p.cleanup();
});

test('a missing connection variable is a clear error naming it', async () => {
  const p = makeProject({ 'prodguard.yaml': minimalConfig() });
  const { connectionUrl } = await import('../../src/config/connection.js');
  const { loadConfig } = await import('../../src/config/load.js');
  const loaded = loadConfig({ cwd: p.dir });
  assert.throws(() => connectionUrl(loaded, 'production', {}), /environment "production": variable PRODUCTION_DATABASE_URL is not set/);
  p.cleanup();
});

test('environment resolution: by name, Supabase ref, connection string and PG* variables', () => {
  const config = configSchema.parse({
    environments: {
      staging: { kind: 'staging', urlEnv: 'STAGING_URL', supabaseRef: 'stagingref1' },
      production: { kind: 'production', urlEnv: 'PROD_URL', supabaseRef: 'prodref1234', hosts: ['db.internal:6432'] },
    },
  });
  const loaded = { config, root: '/tmp' };
  const env = { PROD_URL: 'postgresql://app:pw@10.0.0.5:5432/app', STAGING_URL: 'postgresql://app:pw@10.0.0.6:5432/app' };
  assert.equal(resolveEnvironment(loaded, { environment: 'production' }, env).kind, 'production');
  assert.equal(resolveEnvironment(loaded, { supabaseRef: 'prodref1234' }, env).name, 'production');
  assert.equal(resolveEnvironment(loaded, { url: 'postgresql://postgres:x@db.prodref1234.supabase.co:5432/postgres' }, env).name, 'production');
  assert.equal(resolveEnvironment(loaded, { url: 'postgresql://postgres.stagingref1:x@aws-0-eu-west-1.pooler.supabase.com:6543/postgres' }, env).name, 'staging');
  assert.equal(resolveEnvironment(loaded, { url: 'host=10.0.0.5 port=5432 dbname=app user=app' }, env).name, 'production');
  assert.equal(resolveEnvironment(loaded, { pgEnv: { PGHOST: 'db.internal', PGPORT: '6432', PGDATABASE: 'whatever' } }, env).name, 'production');
  assert.equal(resolveEnvironment(loaded, { url: 'postgresql://postgres@10.9.9.9/app' }, env).kind, 'unknown');
  assert.equal(resolveEnvironment(loaded, { environment: 'nope' }, env).kind, 'unknown');
});

test('bad input gets one line and exit 2: unknown command, unknown option, unknown environment, unreadable config', async () => {
  const p = makeProject({ 'prodguard.yaml': minimalConfig() });
  mkdirSync(join(p.dir, 'broken/prodguard.yaml'), { recursive: true });
  const cases: Array<[string[], RegExp]> = [
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['status', '--bogus'], /unknown option '--bogus'/],
    [['config', 'resolve', 'prod'], /unknown environment "prod"; configured: local, staging, production/],
    [['--config', 'broken/prodguard.yaml', 'status'], /cannot read .*prodguard\.yaml: EISDIR/],
    [['--config', 'nowhere.yaml', 'status'], /cannot read .*nowhere\.yaml: ENOENT/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(args, { cwd: p.dir });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  p.cleanup();
});

test('no PostgreSQL binaries: one line naming the program, exit 2', async () => {
  const r = await runCli(['demo'], { env: { PG_BIN: '/nonexistent/pg/bin' } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /PostgreSQL program "initdb" not found in PG_BIN=\/nonexistent\/pg\/bin/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});

test('prodguard config schema prints a JSON Schema', async () => {
  const r = await runCli(['config', 'schema']);
  assert.equal(r.code, 0);
  const schema = JSON.parse(r.stdout);
  assert.equal(schema.type, 'object');
  assert.ok(schema.properties.environments);
});

test('--version and --help work', async () => {
  const v = await runCli(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+/);
  const h = await runCli(['status', '--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /--strict/);
});
