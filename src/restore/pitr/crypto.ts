/**
 * Encrypting and checksumming stored PITR files (WAL segments, base backup tars) with age, the
 * same recipients as logical backups (config.backup.encryption). Files are streamed, so a large
 * base backup never sits in memory. The sha256 is always of the plaintext: it proves the bytes
 * PostgreSQL gets back are the bytes it archived, whatever the storage did.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { LoadedConfig } from '../../config/load.js';
import { decryptStream, encryptStream, findIdentity } from '../../backup/encryption.js';
import { UsageError, RefusedError, errorMessage } from '../../errors.js';

export interface EncryptionSettings {
  recipients: string[];
  /** true: files are stored as they are (config.backup.encryption.noEncrypt). */
  plaintext: boolean;
}

export function encryptionSettings(loaded: LoadedConfig): EncryptionSettings {
  const enc = loaded.config.backup.encryption;
  if (enc.noEncrypt) return { recipients: [], plaintext: true };
  if (enc.recipients.length === 0) {
    throw new UsageError('PITR archives are encrypted like backups: set backup.encryption.recipients (age1…) in prodguard.yaml, or backup.encryption.noEncrypt: true for throw-away data', 'pitr.no-recipients');
  }
  return { recipients: enc.recipients, plaintext: false };
}

/** The age identity needed to decrypt (restore); read from the configured variable or file, never logged. */
export function decryptionIdentity(loaded: LoadedConfig, env: Record<string, string | undefined> = process.env): string {
  const id = findIdentity(loaded, env);
  if (id) return id;
  const enc = loaded.config.backup.encryption;
  throw new UsageError(`decrypting the PITR archive needs the age identity: set ${enc.identityEnv}${enc.identityFile ? ` or provide ${enc.identityFile}` : ''}`, 'pitr.no-identity');
}

export interface WrittenFile {
  /** sha256 of the plaintext. */
  sha256: string;
  size: number;
  /** sha256 of the bytes as stored (ciphertext when encrypted). */
  storedSha256: string;
  storedSize: number;
  encrypted: boolean;
}

function hashing(hash: ReturnType<typeof createHash>, counter: { n: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      counter.n += chunk.length;
      cb(null, chunk);
    },
  });
}

/** Streams `src` to `dest`, encrypting unless plaintext; returns both checksums. */
export async function writeProtected(src: string, dest: string, settings: EncryptionSettings): Promise<WrittenFile> {
  const plainHash = createHash('sha256');
  const storedHash = createHash('sha256');
  const plain = { n: 0 };
  const stored = { n: 0 };
  const input = createReadStream(src).pipe(hashing(plainHash, plain));
  if (settings.plaintext) {
    await pipeline(input, hashing(storedHash, stored), createWriteStream(dest, { mode: 0o600 }));
  } else {
    await pipeline(await encryptStream(input, settings.recipients), hashing(storedHash, stored), createWriteStream(dest, { mode: 0o600 }));
  }
  return { sha256: plainHash.digest('hex'), size: plain.n, storedSha256: storedHash.digest('hex'), storedSize: stored.n, encrypted: !settings.plaintext };
}

/**
 * Streams a stored file back to plaintext at `dest`, checking both checksums; a mismatch throws
 * a RefusedError naming the file and leaves nothing at `dest`.
 */
export async function readProtected(src: string, dest: string, expect: WrittenFile, identity: string | null, label: string): Promise<void> {
  const storedHash = createHash('sha256');
  const plainHash = createHash('sha256');
  const stored = { n: 0 };
  const plain = { n: 0 };
  const input = createReadStream(src).pipe(hashing(storedHash, stored));
  const out: Writable = createWriteStream(dest, { mode: 0o600 });
  try {
    if (!expect.encrypted) {
      await pipeline(input, hashing(plainHash, plain), out);
    } else {
      if (!identity) throw new UsageError(`${label} is encrypted and no age identity was given`, 'pitr.no-identity');
      // One age implementation for backups and PITR (backup/encryption.ts): a wrong key is the same usage error (exit 2) in both.
      await pipeline(await decryptStream(input, identity, label), hashing(plainHash, plain), out);
    }
  } catch (err) {
    rmSync(dest, { force: true });
    if (err instanceof UsageError) throw err;
    throw new RefusedError(`${label}: cannot read or decrypt (${errorMessage(err)})`, 'pitr.corrupt', err);
  }
  const storedSum = storedHash.digest('hex');
  const plainSum = plainHash.digest('hex');
  if (storedSum !== expect.storedSha256 || plainSum !== expect.sha256) {
    rmSync(dest, { force: true });
    throw new RefusedError(`${label}: checksum mismatch (stored ${storedSum.slice(0, 12)}… expected ${expect.storedSha256.slice(0, 12)}…); the archive copy is damaged`, 'pitr.checksum');
  }
}
