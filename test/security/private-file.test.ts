/**
 * Red team w5c-103: `state.auditLog: /dev/null` made prodguard (run as root) chmod the machine's
 * /dev/null to 0600, which broke every other program (initdb among them). The audit log and the
 * local state store are written and made owner-only only when they are regular files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../src/audit/log.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { requireRegularFile } from '../../src/security/private-file.js';

test('w5c-103: the audit log and the state store refuse /dev/null and directories, and leave their permissions alone', async () => {
  const before = statSync('/dev/null').mode;
  await assert.rejects(new AuditLog('/dev/null').append({ action: 'x', command: 'x', target: '-', verdict: 'ok', reason: 'x' }), /the audit log \(state\.auditLog\) \/dev\/null is a character device/);
  assert.throws(() => new SqliteStore('/dev/null'), /the state store \(state\.path\) \/dev\/null is a character device/);
  assert.equal(statSync('/dev/null').mode, before, '/dev/null keeps its permissions');
  const dir = mkdtempSync(join(tmpdir(), 'prodguard-private-file-'));
  try {
    assert.throws(() => requireRegularFile(dir, 'the audit log'), /is a directory/);
    // A regular file, or none yet, is fine: the log is created owner-only.
    const file = join(dir, 'audit.jsonl');
    requireRegularFile(file, 'the audit log');
    await new AuditLog(file).append({ action: 'x', command: 'x', target: '-', verdict: 'ok', reason: 'x' });
    assert.ok(existsSync(file));
    assert.equal(statSync(file).mode & 0o777, 0o600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
