/** PITR files are encrypted with the backups' age code (backup/encryption.ts): round trip, wrong key, damage. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '../../src/backup/encryption.js';
import { readProtected, writeProtected } from '../../src/restore/pitr/crypto.js';
import { RefusedError, UsageError } from '../../src/errors.js';

test('a WAL file round-trips; a wrong key is a usage error (exit 2) as for backups; a damaged copy is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prodguard-pitr-crypto-'));
  try {
    const k = await generateKeyPair();
    const other = await generateKeyPair();
    const plain = join(dir, 'wal');
    writeFileSync(plain, Buffer.alloc(256 * 1024, 7));
    const stored = join(dir, 'wal.age');
    const w = await writeProtected(plain, stored, { recipients: [k.recipient], plaintext: false });
    assert.equal(w.encrypted, true);
    assert.equal(w.size, 256 * 1024);
    const back = join(dir, 'back');
    await readProtected(stored, back, w, k.identity, 'wal 1');
    assert.deepEqual(readFileSync(back), readFileSync(plain));

    const wrong = join(dir, 'wrong');
    await assert.rejects(readProtected(stored, wrong, w, other.identity, 'wal 1'), (e: Error) => e instanceof UsageError && e.exitCode === 2 && /wal 1: the age identity does not match any recipient/.test(e.message));
    assert.equal(existsSync(wrong), false);

    const bytes = readFileSync(stored);
    bytes[bytes.length - 100] ^= 0xff;
    writeFileSync(stored, bytes);
    await assert.rejects(readProtected(stored, join(dir, 'damaged'), w, k.identity, 'wal 1'), RefusedError);
    assert.equal(existsSync(join(dir, 'damaged')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
