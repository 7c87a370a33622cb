/**
 * Approver keys: ed25519 pairs from node:crypto. The private key is written to a file readable by
 * its owner only (0600) and never printed; the public key is printed as `ed25519:<base64 SPKI>`,
 * which goes into the config's team[].publicKey. By default the private key goes to the per-user
 * config directory ($XDG_CONFIG_HOME/prodguard/keys, else ~/.config/prodguard/keys), never into
 * the repository, where one `git add .` would publish it.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { gitExposure, gitRoot, type GitExposure } from '../security/repo-paths.js';

const PREFIX = 'ed25519:';

export interface GeneratedKey {
  name: string;
  privateKeyFile: string;
  publicKey: string;
  /** Set when the private key landed inside a git work tree (only with an explicit --out). */
  insideRepo?: { root: string; exposure: GitExposure };
}

/** Where private keys go by default: the per-user config directory, outside any repository. */
export function defaultKeysDir(env: Record<string, string | undefined> = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), '.config');
  return join(base, 'prodguard', 'keys');
}

export function formatPublicKey(k: KeyObject): string {
  return PREFIX + k.export({ format: 'der', type: 'spki' }).toString('base64');
}

export function parsePublicKey(text: string): KeyObject {
  const t = text.trim();
  if (!t.startsWith(PREFIX)) throw new Error('not an ed25519: public key');
  const k = createPublicKey({ key: Buffer.from(t.slice(PREFIX.length), 'base64'), format: 'der', type: 'spki' });
  if (k.asymmetricKeyType !== 'ed25519') throw new Error('not an ed25519 key');
  return k;
}

export function generateKeys(opts: { name: string; outDir?: string }): GeneratedKey {
  if (!/^[A-Za-z0-9._@-]+$/.test(opts.name)) throw new UsageError(`--name must be letters, digits, . _ @ -, got "${opts.name}"`);
  const dir = resolve(opts.outDir ?? defaultKeysDir());
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${opts.name}.ed25519.key`);
  if (existsSync(file)) throw new UsageError(`${file} already exists; refusing to overwrite a private key`, 'keys.exists');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  const root = gitRoot(dir);
  return { name: opts.name, privateKeyFile: file, publicKey: formatPublicKey(publicKey), ...(root ? { insideRepo: { root, exposure: gitExposure(root, file) } } : {}) };
}

export function loadPrivateKey(file: string): KeyObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read key file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`, 'keys.unreadable');
  }
  let k: KeyObject;
  try {
    k = createPrivateKey(text);
  } catch {
    throw new UsageError(`${file} is not a PEM private key`, 'keys.invalid');
  }
  if (k.asymmetricKeyType !== 'ed25519') throw new UsageError(`${file} is a ${k.asymmetricKeyType} key, approvals need ed25519 (prodguard keys generate)`, 'keys.invalid');
  return k;
}
