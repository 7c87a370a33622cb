/**
 * age encryption of backup objects. `age-encryption` (0.3) streams: `Encrypter.encrypt` takes a
 * WHATWG ReadableStream and returns one, in age's own 64 KiB STREAM chunks, so a dump is never
 * held in memory and needs no framing of ours. Recipients are X25519 public keys from
 * config.backup.encryption.recipients; the identity (private key) is needed only to verify or
 * restore and comes from an environment variable or a file — never from prodguard.yaml.
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import type { LoadedConfig } from '../config/load.js';
import { AgeNativeError, nativeDecrypter, nativeEncrypter } from './age-native.js';
import { configPath } from '../config/load.js';
import { UsageError, RefusedError, errorMessage } from '../errors.js';

export interface EncryptionPlan {
  encrypted: boolean;
  recipients: string[];
}

/** What a backup will be encrypted to; a UsageError before anything is written if unconfigured. */
export function encryptionPlan(loaded: LoadedConfig): EncryptionPlan {
  const enc = loaded.config.backup.encryption;
  if (enc.noEncrypt) return { encrypted: false, recipients: [] };
  if (enc.recipients.length === 0) {
    throw new UsageError(
      'backups are encrypted: add age public keys (age1…) to backup.encryption.recipients in prodguard.yaml (make one with `prodguard backup keygen`), or set backup.encryption.noEncrypt: true for throw-away data',
      'backup.no-recipients',
    );
  }
  return { encrypted: true, recipients: enc.recipients };
}

/** The age identity (AGE-SECRET-KEY-1…) from the configured variable or file, or null. Never logged. */
export function findIdentity(loaded: LoadedConfig, env: Record<string, string | undefined> = process.env): string | null {
  const enc = loaded.config.backup.encryption;
  const fromEnv = env[enc.identityEnv]?.trim();
  if (fromEnv) return fromEnv;
  if (enc.identityFile) {
    try {
      const text = readFileSync(configPath(loaded, enc.identityFile), 'utf8');
      return text.split('\n').map((l) => l.trim()).find((l) => l.startsWith('AGE-SECRET-KEY-')) ?? null;
    } catch {
      return null;
    }
  }
  return null;
}

export function requireIdentity(loaded: LoadedConfig, env: Record<string, string | undefined> = process.env): string {
  const id = findIdentity(loaded, env);
  const enc = loaded.config.backup.encryption;
  if (!id) {
    throw new UsageError(
      `this backup is encrypted and no age identity was found: set ${enc.identityEnv}${enc.identityFile ? ` or provide ${enc.identityFile}` : ' or backup.encryption.identityFile'}`,
      'backup.no-identity',
    );
  }
  if (!/^AGE-SECRET-KEY-1[0-9A-Z]+$/.test(id)) {
    throw new UsageError(`the age identity in ${enc.identityEnv}${enc.identityFile ? `/${enc.identityFile}` : ''} is not an X25519 identity (AGE-SECRET-KEY-1…)`, 'backup.bad-identity');
  }
  return id;
}

/** Encrypts a Node stream to the recipients, streaming. */
export async function encryptStream(input: Readable, recipients: string[]): Promise<Readable> {
  // X25519 recipients: native crypto (same format, far faster); others: the library.
  const native = nativeEncrypter(recipients);
  if (native) {
    input.on('error', (err) => native.destroy(err));
    return input.pipe(native);
  }
  const e = new Encrypter();
  for (const r of recipients) e.addRecipient(r);
  const out = await e.encrypt(Readable.toWeb(input) as unknown as ReadableStream<Uint8Array>);
  return Readable.fromWeb(out as unknown as WebReadableStream<Uint8Array>);
}

/**
 * Decrypts a Node stream. The header is checked before this resolves, so a wrong identity fails
 * here — before a single plaintext byte exists — with a one-line UsageError.
 */
export async function decryptStream(input: Readable, identity: string, label: string): Promise<Readable> {
  const native = nativeDecrypter(identity);
  if (native) {
    const inputFailed = new Promise<never>((_r, reject) => input.once('error', reject));
    inputFailed.catch(() => {});
    input.on('error', (err) => native.stream.destroy(err));
    // Until the header is known good, its failure is reported here (not as an unhandled 'error').
    const swallow = () => {};
    native.stream.on('error', swallow);
    input.pipe(native.stream);
    try {
      await Promise.race([native.headerChecked, inputFailed]);
      native.stream.off('error', swallow);
    } catch (err) {
      input.destroy();
      native.stream.destroy();
      if (err instanceof AgeNativeError && err.wrongKey) throw new UsageError(`${label}: the age identity does not match any recipient of this backup (wrong key)`, 'backup.wrong-identity');
      throw new RefusedError(`${label}: cannot decrypt (${errorMessage(err)})`, 'backup.decrypt');
    }
    // Later failures (a damaged chunk) surface as errors of the returned stream.
    return native.stream;
  }
  const d = new Decrypter();
  try {
    d.addIdentity(identity);
  } catch {
    throw new UsageError('the age identity is malformed (expected AGE-SECRET-KEY-1…)', 'backup.bad-identity');
  }
  try {
    const out = await d.decrypt(Readable.toWeb(input) as unknown as ReadableStream<Uint8Array>);
    return Readable.fromWeb(out as unknown as WebReadableStream<Uint8Array>);
  } catch (err) {
    const msg = errorMessage(err);
    if (/no identity matched/i.test(msg)) {
      throw new UsageError(`${label}: the age identity does not match any recipient of this backup (wrong key)`, 'backup.wrong-identity');
    }
    throw new RefusedError(`${label}: cannot decrypt (${msg})`, 'backup.decrypt');
  }
}

/** A new X25519 key pair for `backup keygen`. */
export async function generateKeyPair(): Promise<{ identity: string; recipient: string }> {
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}
