/**
 * The one place secrets are masked before anything is printed, logged or audited.
 * Masks: passwords in postgres:// URIs, `password=` in libpq key/value strings, and the values of
 * variables whose name looks secret (PGPASSWORD=…, *_SECRET=…, *_TOKEN=…, *_KEY=…, DATABASE_URL
 * values are URIs and handled by the first rule).
 */
const MASK = '****';

// scheme://user:password@host — the password ends at the last '@' before the host part.
const URI_PASSWORD = /\b((?:postgres(?:ql)?|mysql|mongodb(?:\+srv)?|redis|s3|https?|sftp):\/\/[^\s:/@'"]*:)([^\s@'"]+)(@)/gi;
const KV_PASSWORD = /\b(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s'"]+)/gi;
const SECRET_ASSIGNMENT =
  /\b([A-Z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|ACCESS_KEY|PRIVATE_KEY|SERVICE_ROLE_KEY|IDENTITY)[A-Z0-9_]*\s*=\s*)("[^"]*"|'[^']*'|[^\s;&|]+)/gi;
const AGE_SECRET_KEY = /AGE-SECRET-KEY-1[0-9A-Z]+/g;
const QUERY_PASSWORD = /([?&]password=)([^&\s'"]+)/gi;

export function maskSecrets(text: string): string {
  return text
    .replace(URI_PASSWORD, `$1${MASK}$3`)
    .replace(QUERY_PASSWORD, `$1${MASK}`)
    .replace(KV_PASSWORD, `$1${MASK}`)
    .replace(SECRET_ASSIGNMENT, `$1${MASK}`)
    .replace(AGE_SECRET_KEY, 'AGE-SECRET-KEY-****');
}

/** Deep-masks every string inside a JSON-like value. */
export function maskDeep<T>(value: T): T {
  if (typeof value === 'string') return maskSecrets(value) as T;
  if (Array.isArray(value)) return value.map((v) => maskDeep(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = /password|secret|token|identity|private/i.test(k) && typeof v === 'string' ? MASK : maskDeep(v);
    }
    return out as T;
  }
  return value;
}
