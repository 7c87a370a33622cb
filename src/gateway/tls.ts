/**
 * The gateway's TLS certificate: the one given in the config, or a self-signed one generated on
 * first start (with the openssl CLI, which every PostgreSQL host has) and kept beside the state
 * store. Clients then connect with sslmode=require (encrypted, not verified) or verify against
 * the generated certificate (sslrootcert=…/gateway.crt, sslmode=verify-ca).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import { UsageError } from '../errors.js';

export interface TlsFiles {
  cert: string;
  key: string;
  generated: boolean;
}

export function ensureCertificate(dir: string, given?: { cert?: string; key?: string }): TlsFiles {
  if (given?.cert || given?.key) {
    if (!given.cert || !given.key) throw new UsageError('gateway TLS needs both tlsCert and tlsKey', 'gateway.tls');
    for (const f of [given.cert, given.key]) if (!existsSync(f)) throw new UsageError(`gateway TLS file ${f} does not exist`, 'gateway.tls');
    return { cert: given.cert, key: given.key, generated: false };
  }
  const cert = join(dir, 'gateway.crt');
  const key = join(dir, 'gateway.key');
  if (existsSync(cert) && existsSync(key)) return { cert, key, generated: false };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '825', '-subj', '/CN=prodguard-gateway', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new UsageError(`cannot generate the gateway's TLS certificate with openssl: ${r.error?.message ?? r.stderr.trim().split('\n').pop()}`, 'gateway.tls');
  chmodSync(key, 0o600);
  return { cert, key, generated: true };
}

export function secureContext(files: TlsFiles): SecureContext {
  return createSecureContext({ cert: readFileSync(files.cert), key: readFileSync(files.key), minVersion: 'TLSv1.2' });
}
