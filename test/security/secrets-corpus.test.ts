/**
 * The secrets corpus never appears: not in maskSecrets/maskDeep output, not in the audit log, not in
 * the CLI's JSON output, error messages or --debug stack traces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { maskDeep, maskSecrets } from '../../src/security/mask.js';
import { AuditLog } from '../../src/audit/log.js';
import { makeProject, minimalConfig, runCli } from '../helpers/cli.js';
import { SECRETS_CORPUS, findLeak } from '../fixtures/secrets-corpus.js';

test('maskSecrets removes every corpus secret and keeps the rest of the line readable', () => {
  for (const e of SECRETS_CORPUS) {
    const out = maskSecrets(e.line);
    assert.equal(findLeak(out), undefined, `${e.kind} leaked`);
    assert.match(out, /\*\*\*\*/, e.kind);
  }
  assert.equal(maskSecrets(`ALTER ROLE app_user WITH PASSWORD 'x1'`), `ALTER ROLE app_user WITH PASSWORD '****'`);
  // Not secrets: ordinary SQL and text stay as they are.
  for (const plain of ['select * from auth.users', 'ALTER ROLE app NOLOGIN', 'the password policy is strict', 'Token expired']) {
    assert.equal(maskSecrets(plain), plain);
  }
});

test('maskDeep masks corpus secrets inside nested values and secret-looking keys', () => {
  const v = maskDeep({ a: SECRETS_CORPUS.map((e) => e.line), nested: { apiKey: 'plain-looking-key', authorization: 'x y' } });
  assert.equal(findLeak(JSON.stringify(v)), undefined);
  assert.equal(v.nested.apiKey, '****');
});

test('the audit log never records a corpus secret', async () => {
  const p = makeProject();
  try {
    const log = new AuditLog(join(p.dir, 'audit.jsonl'));
    for (const e of SECRETS_CORPUS) {
      await log.append({ action: 'test.secret', command: e.line, target: 'production', verdict: 'allow', reason: `failed: ${e.line}`, details: { sql: e.line } });
    }
    const text = readFileSync(join(p.dir, 'audit.jsonl'), 'utf8');
    assert.equal(text.split('\n').filter(Boolean).length, SECRETS_CORPUS.length);
    assert.equal(findLeak(text), undefined);
  } finally {
    p.cleanup();
  }
});

test('CLI check --json, its audit record, errors and --debug carry no corpus secret', async () => {
  const p = makeProject({ 'prodguard.yaml': minimalConfig() });
  const env = { PRODUCTION_DATABASE_URL: 'postgresql://postgres:uR1-pa55word@db.abc.supabase.co:5432/postgres', PATH: process.env.PATH ?? '/usr/bin:/bin' };
  try {
    let all = '';
    // One CLI run carrying the whole corpus (each CLI start costs seconds on a shared machine).
    const cmd = SECRETS_CORPUS.map((e) => `psql "$PRODUCTION_DATABASE_URL" -c "${e.line.replace(/"/g, '\\"')}"`).join(' && ');
    const r = await runCli(['check', '--json', cmd], { cwd: p.dir, env });
    all += r.stdout + r.stderr;
    assert.ok(r.stdout.trim().startsWith('{'), r.stderr);
    assert.ok(r.stdout.includes('****'), 'the decision JSON shows the command, masked');
    // An error path with --debug: a config that cannot be read, naming a secret in the bad value.
    const bad = makeProject({ 'prodguard.yaml': `version: 1\nproject: { name: "${SECRETS_CORPUS[0].line}" }\nenvironments: 7\n` });
    try {
      const r = await runCli(['status', '--json', '--debug'], { cwd: bad.dir, env });
      assert.notEqual(r.code, 0);
      all += r.stdout + r.stderr;
    } finally {
      bad.cleanup();
    }
    all += readFileSync(join(p.dir, '.prodguard/audit.jsonl'), 'utf8');
    assert.equal(findLeak(all), undefined);
  } finally {
    p.cleanup();
  }
});
