/**
 * `backup keygen`: a new age X25519 key pair whose identity goes to a new 0600 file only (like
 * `age-keygen -o`); the identity is never printed. An existing file is never overwritten.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { generateKeyPair } from './encryption.js';
import { UsageError } from '../errors.js';

export async function writeIdentityFile(out: string): Promise<{ recipient: string; identityFile: string }> {
  const file = resolve(out);
  const k = await generateKeyPair();
  try {
    writeFileSync(file, `# created: ${new Date().toISOString()}\n# public key: ${k.recipient}\n${k.identity}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'EEXIST' ? `${file} already exists; refusing to overwrite a key` : `cannot write ${file}: ${code}`, 'backup.keygen');
  }
  return { recipient: k.recipient, identityFile: file };
}
