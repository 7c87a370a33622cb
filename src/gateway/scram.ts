/**
 * SCRAM-SHA-256 (RFC 5802 / 7677) as PostgreSQL speaks it, both sides: the gateway verifies its
 * users (who never send a password), and authenticates itself to the upstream server. Verifiers
 * are stored the way PostgreSQL stores them in pg_authid
 * (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`): they let the gateway check a
 * proof but cannot be used to log in.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export const SCRAM_ITERATIONS = 4096;

const hmac = (key: Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();
const xor = (a: Buffer, b: Buffer): Buffer => Buffer.from(a.map((x, i) => x ^ b[i]));

export interface ScramVerifier {
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

function saltedPassword(password: string, salt: Buffer, iterations: number): Buffer {
  // PostgreSQL applies SASLprep; NFKC normalisation is its main effect for ordinary passwords.
  return pbkdf2Sync(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, 32, 'sha256');
}

export function makeVerifier(password: string, iterations = SCRAM_ITERATIONS, salt: Buffer = randomBytes(16)): string {
  const sp = saltedPassword(password, salt, iterations);
  const storedKey = sha256(hmac(sp, 'Client Key'));
  const serverKey = hmac(sp, 'Server Key');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

export function parseVerifier(v: string): ScramVerifier {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(v);
  if (!m) throw new Error('not a SCRAM-SHA-256 verifier');
  return { iterations: Number(m[1]), salt: Buffer.from(m[2], 'base64'), storedKey: Buffer.from(m[3], 'base64'), serverKey: Buffer.from(m[4], 'base64') };
}

const attrs = (msg: string): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const part of msg.split(',')) {
    const i = part.indexOf('=');
    if (i === 1) out[part[0]] = part.slice(2);
  }
  return out;
};

/**
 * The server side of one exchange. `verifier` null (unknown user) still runs the exchange with a
 * made-up salt, so a client cannot tell unknown names from wrong passwords.
 */
export class ScramServer {
  private v: ScramVerifier;
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';
  private gs2 = '';
  constructor(verifier: string | null) {
    this.v = verifier ? parseVerifier(verifier) : { iterations: SCRAM_ITERATIONS, salt: randomBytes(16), storedKey: randomBytes(32), serverKey: randomBytes(32) };
    this.known = verifier !== null;
  }
  private known: boolean;

  /** client-first-message → server-first-message. Throws on a malformed message or channel binding. */
  first(clientFirst: string): string {
    const m = /^([ny]|p=[^,]*),([^,]*),(.*)$/.exec(clientFirst);
    if (!m) throw new Error('malformed SCRAM client-first-message');
    if (m[1].startsWith('p')) throw new Error('channel binding is not supported by this server');
    this.gs2 = `${m[1]},${m[2]},`;
    this.clientFirstBare = m[3];
    const clientNonce = attrs(m[3]).r;
    if (!clientNonce) throw new Error('SCRAM client nonce missing');
    this.nonce = clientNonce + randomBytes(18).toString('base64');
    this.serverFirst = `r=${this.nonce},s=${this.v.salt.toString('base64')},i=${this.v.iterations}`;
    return this.serverFirst;
  }

  /** client-final-message → server-final-message, or null when the proof is wrong. */
  final(clientFinal: string): string | null {
    const a = attrs(clientFinal);
    if (a.r !== this.nonce || !a.p || a.c !== Buffer.from(this.gs2).toString('base64')) return null;
    const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(',p='));
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const proof = Buffer.from(a.p, 'base64');
    if (proof.length !== 32) return null;
    const clientKey = xor(proof, hmac(this.v.storedKey, authMessage));
    if (!timingSafeEqual(sha256(clientKey), this.v.storedKey) || !this.known) return null;
    return `v=${hmac(this.v.serverKey, authMessage).toString('base64')}`;
  }
}

/** The client side, for authenticating to the upstream server. */
export class ScramClient {
  private nonce = randomBytes(18).toString('base64');
  private clientFirstBare = `n=*,r=${this.nonce}`;
  private expectedServerSignature: Buffer | null = null;
  constructor(private readonly password: string) {}

  first(): string {
    return `n,,${this.clientFirstBare}`;
  }

  final(serverFirst: string): string {
    const a = attrs(serverFirst);
    if (!a.r?.startsWith(this.nonce) || !a.s || !a.i) throw new Error('malformed SCRAM server-first-message');
    const sp = saltedPassword(this.password, Buffer.from(a.s, 'base64'), Number(a.i));
    const clientKey = hmac(sp, 'Client Key');
    const withoutProof = `c=biws,r=${a.r}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const proof = xor(clientKey, hmac(sha256(clientKey), authMessage));
    this.expectedServerSignature = hmac(hmac(sp, 'Server Key'), authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  verify(serverFinal: string): boolean {
    const v = attrs(serverFinal).v;
    return !!v && !!this.expectedServerSignature && timingSafeEqual(Buffer.from(v, 'base64').subarray(0, 32).length === 32 ? Buffer.from(v, 'base64') : Buffer.alloc(32), this.expectedServerSignature);
  }
}
