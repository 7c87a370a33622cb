/**
 * Issue #10: one home for the guard's scoped file read (target.ts readScoped), used by the
 * decision engine and by target resolution alike: what this command line wrote (under any
 * spelling), nothing of this machine's inside a container or on another host, and no reading of
 * this process's own /dev or /proc.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDotenvFiles, readScoped, type GuardScope } from '../../src/guard/target.js';

test('readScoped: written files under any spelling, remote scopes, /dev and /proc', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prodguard-scoped-'));
  try {
    writeFileSync(join(dir, 'on-disk.txt'), 'disk\n');
    const scope = (extra: Partial<GuardScope> = {}): GuardScope => ({ cwd: dir, env: {}, loaded: null, files: new Map([[join(dir, '.env'), 'DATABASE_URL=written\n']]), ...extra });
    assert.equal(readScoped(scope(), join(dir, '.env')), 'DATABASE_URL=written\n', 'as written');
    assert.equal(readScoped(scope(), '.env'), 'DATABASE_URL=written\n', 'another spelling of the written file');
    assert.equal(readScoped(scope(), './.env'), 'DATABASE_URL=written\n');
    assert.equal(readScoped(scope(), 'on-disk.txt'), 'disk\n', 'this machine\'s file');
    assert.equal(readScoped(scope({ remote: 'ssh db1' }), 'on-disk.txt'), null, 'not on another host');
    assert.equal(readScoped(scope({ remote: 'ssh db1' }), '.env'), 'DATABASE_URL=written\n', 'what the line wrote is known there too');
    assert.equal(readScoped(scope(), '/dev/null'), '');
    assert.equal(readScoped(scope(), '/dev/stdin'), null);
    assert.equal(readScoped(scope(), '/proc/self/environ'), null);
    assert.equal(readScoped(scope(), 'missing.txt'), null);
    // Target resolution reads .env files through the same function.
    assert.deepEqual(loadDotenvFiles(scope(), ['.env']), [{ file: '.env', vars: { DATABASE_URL: 'written' } }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
