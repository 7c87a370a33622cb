/**
 * Secrets never reach a message (issue #11): passwords in connection URLs are masked even when the
 * URL does not parse (an '@' or a space in the password, a bad port, broken percent-encoding),
 * and every error path that names a connection masks it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { maskSecrets } from '../../src/security/mask.js';
import { connect, describeTarget } from '../../src/pg/client.js';
import { parseConnInfo } from '../../src/pg/conninfo.js';
import { makeProject, minimalConfig, runCli } from '../helpers/cli.js';

const SECRET = 'Zq9-secret';
const URLS = [
  `postgresql://app:${SECRET}@db.example.invalid:5432/app`,
  `postgresql://app:p@${SECRET}@db.example.invalid:5432/app`,
  `postgresql://app:pa ${SECRET}@db.example.invalid/app`,
  `postgresql://app:${SECRET}"x@db.example.invalid/app`,
  `postgresql://app:${SECRET}'x@db.example.invalid/app`,
  `postgresql://app:se/${SECRET}:x@db.example.invalid/app`,
  `postgresql://app:${SECRET}@[::1/app`,
  `postgresql://app:${SECRET}@db.example.invalid:notaport/app`,
  `postgresql://app:${SECRET}%zz@db.example.invalid/app`,
  `postgres://:${SECRET}@db.example.invalid/app`,
  `postgresql://app@db.example.invalid/app?sslmode=require&password=${SECRET}`,
  `host=db.example.invalid password=${SECRET} dbname=app`,
  `host=db.example.invalid password='${SECRET} x' dbname=app`,
];

test('maskSecrets hides the password of every connection string, parseable or not', () => {
  for (const u of URLS) {
    for (const text of [u, `could not connect with '${u}': timeout`, `DATABASE_URL=${u}`]) {
      const masked = maskSecrets(text);
      assert.ok(!masked.includes(SECRET), `leaked: ${masked}`);
      assert.match(masked, /\*\*\*\*/);
    }
  }
});

test('masking keeps what is not a password', () => {
  assert.equal(maskSecrets('postgresql://app:pw@db.example.invalid:5432/app'), 'postgresql://app:****@db.example.invalid:5432/app');
  assert.equal(maskSecrets('postgresql://db.example.invalid:5432/app and mail bob@example.com'), 'postgresql://db.example.invalid:5432/app and mail bob@example.com');
  assert.equal(maskSecrets('see https://example.com/docs'), 'see https://example.com/docs');
});

test('describeTarget and connect never echo an unparseable URL', async () => {
  for (const u of URLS) {
    assert.doesNotThrow(() => parseConnInfo(u), u);
    assert.ok(!describeTarget(u).includes(SECRET), describeTarget(u));
  }
  for (const u of [URLS[7], URLS[8], URLS[6]]) {
    await assert.rejects(connect(u), (e: Error) => {
      assert.ok(!e.message.includes(SECRET), e.message);
      return true;
    });
  }
});

test('the CLI error for an environment with an unparseable URL does not print its password', async () => {
  const p = makeProject({ 'migrations/0001_a.sql': 'SELECT 1;\n' });
  try {
    writeFileSync(join(p.dir, 'prodguard.yaml'), minimalConfig());
    for (const u of [URLS[7], URLS[8], URLS[2]]) {
      const r = await runCli(['migrate', 'status', '--env', 'production'], { cwd: p.dir, env: { PRODUCTION_DATABASE_URL: u, STAGING_DATABASE_URL: u, DATABASE_URL: u } });
      assert.notEqual(r.code, 0);
      assert.ok(!(r.stdout + r.stderr).includes(SECRET), r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  } finally {
    p.cleanup();
  }
});
