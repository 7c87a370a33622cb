/**
 * Dashboard login: a shared token (from a variable, or generated at start and written to a
 * 0600 file — never printed) or a per-person password (scrypt hashes in the config, made by
 * `prodguard serve hash-password`). A successful login gets an HMAC-signed session cookie keyed
 * by a secret that lives only in this process: restarting the server logs everyone out.
 */
import { createHmac, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

export interface AuthSettings {
  /** The shared token; null when only passwords are accepted. */
  token: string | null;
  users: Array<{ name: string; passwordHash: string }>;
}

const SESSION_HOURS = 12;

export function hashPassword(password: string, salt: Buffer = randomBytes(16)): string {
  return `scrypt$${salt.toString('hex')}$${scryptSync(password, salt, 32).toString('hex')}`;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function verifyPassword(password: string, stored: string): boolean {
  const m = /^scrypt\$([0-9a-f]+)\$([0-9a-f]+)$/.exec(stored);
  if (!m) return false;
  return sameBytes(scryptSync(password, Buffer.from(m[1], 'hex'), 32), Buffer.from(m[2], 'hex'));
}

export function tokenMatches(given: string, token: string | null): boolean {
  if (!token || !given) return false;
  // Compare digests: equal length whatever was typed, constant time.
  const h = (s: string) => createHmac('sha256', 'prodguard-token').update(s).digest();
  return sameBytes(h(given), h(token));
}

export class Sessions {
  private readonly key = randomBytes(32);

  issue(user: string, now = Date.now()): string {
    const body = `${Buffer.from(user).toString('base64url')}.${now + SESSION_HOURS * 3600_000}`;
    return `${body}.${createHmac('sha256', this.key).update(body).digest('base64url')}`;
  }

  /** The user of a valid, unexpired session cookie, else null. */
  check(cookie: string | undefined, now = Date.now()): string | null {
    if (!cookie) return null;
    const parts = cookie.split('.');
    if (parts.length !== 3) return null;
    const body = `${parts[0]}.${parts[1]}`;
    const mac = createHmac('sha256', this.key).update(body).digest();
    if (!sameBytes(mac, Buffer.from(parts[2], 'base64url'))) return null;
    if (Number(parts[1]) < now) return null;
    return Buffer.from(parts[0], 'base64url').toString('utf8');
  }
}

/** Checks a login form: a token, or a name and password. Returns who logged in. */
export function checkLogin(auth: AuthSettings, form: { name?: string; password?: string; token?: string }): string | null {
  if (form.token && tokenMatches(form.token, auth.token)) return 'token';
  if (form.name && form.password) {
    const u = auth.users.find((x) => x.name === form.name);
    if (u && verifyPassword(form.password, u.passwordHash)) return u.name;
  }
  return null;
}
