/**
 * The one place secrets are masked before anything is printed, logged or audited.
 * Masks: passwords in postgres:// URIs, `password=` in libpq key/value strings, SQL PASSWORD literals,
 * Supabase/GitHub/Slack tokens, JWTs, AWS keys, Authorization headers, --password/--token flags, and the values of
 * variables whose name looks secret (PGPASSWORD=…, *_SECRET=…, *_TOKEN=…, *_KEY=…, DATABASE_URL
 * values are URIs and handled by the first rule).
 */
const MASK = '****';

const URI_SCHEME = /\b(?:postgres(?:ql)?|mysql|mongodb(?:\+srv)?|redis|s3|https?|sftp):\/\//gi;
const KV_PASSWORD = /\b(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s'"]+)/gi;
const SECRET_ASSIGNMENT =
  /\b([A-Z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|ACCESS_KEY|PRIVATE_KEY|SERVICE_ROLE_KEY|IDENTITY)[A-Z0-9_]*\s*=\s*)("[^"]*"|'[^']*'|[^\s;&|]+)/gi;
const AGE_SECRET_KEY = /AGE-SECRET-KEY-1[0-9A-Z]+/g;
const QUERY_PASSWORD = /([?&]password=)([^&\s'"]+)/gi;
// SQL literals: ALTER ROLE/USER … [WITH] [ENCRYPTED] PASSWORD '…', CREATE ROLE/USER … PASSWORD '…',
// \password is interactive so it never carries the secret. E'…' and $$…$$ literals too.
const SQL_PASSWORD_LITERAL = /(\b(?:ENCRYPTED\s+|UNENCRYPTED\s+)?PASSWORD\s+)(E?'(?:[^']|'')*'|\$([A-Za-z_]*)\$[\s\S]*?\$\3\$)/gi;
// Supabase personal access tokens (sbp_), secret API keys (sb_secret_), GitHub tokens, Slack tokens.
const PREFIXED_TOKEN = /\b(sbp_(?:v0_)?|sb_secret_|gh[pousr]_|github_pat_|xox[abprs]-)[A-Za-z0-9_-]{16,}/g;
// JWTs (Supabase anon and service-role keys, OIDC tokens): three base64url parts, header starting {"
const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{10,}/g;
// AWS access key ids, and 40-character secret keys that follow an aws_secret_access_key-like label.
const AWS_KEY_ID = /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/g;
const AWS_SECRET_LABELLED = /(aws_?secret_?access_?key["']?\s*[:=]\s*["']?)([A-Za-z0-9/+=]{40})/gi;
// Authorization headers: Bearer / Basic / token credentials.
const AUTH_HEADER = /(\b(?:Bearer|Basic|Token)\s+)([A-Za-z0-9._~+/=-]{8,})/g;
// --password=… / --token … / --access-token … style flags.
const SECRET_FLAG = /(--(?:password|passwd|token|access-token|secret|api-key|service-role-key|secret-access-key)(?:=|\s+))("[^"]*"|'[^']*'|[^\s;&|]+)/gi;

/**
 * scheme://user:password@host — masks from after `user:` to the LAST '@' of the URL, not the
 * first: a password may contain '@', spaces or quotes when it was not percent-encoded (the URL
 * then does not parse, and that is exactly when it shows up in an error message). The URL is
 * taken to end at the first whitespace after its first '@' (or at the line's end, or at the next
 * URL). A `host:5432/db` with no '@' before the next whitespace is a port, not a password.
 */
function maskUriPasswords(text: string): string {
  const starts: Array<{ at: number; end: number }> = [];
  for (const m of text.matchAll(URI_SCHEME)) starts.push({ at: m.index!, end: m.index! + m[0].length });
  if (starts.length === 0) return text;
  let out = '';
  let copied = 0;
  for (const [i, st] of starts.entries()) {
    if (st.at < copied) continue;
    const nl = text.indexOf('\n', st.end);
    const segEnd = Math.min(nl === -1 ? text.length : nl, starts[i + 1]?.at ?? text.length);
    const seg = text.slice(st.end, segEnd);
    const user = /^[^\s:/@'"]*/.exec(seg)![0];
    if (seg[user.length] !== ':') continue;
    const pwStart = user.length + 1;
    const firstAt = seg.indexOf('@', pwStart);
    if (firstAt === -1) continue;
    const beforeAt = seg.slice(pwStart, firstAt);
    const ws = beforeAt.search(/\s/);
    if (ws !== -1 && /^\d*(?:[/?][^\s]*)?$/.test(beforeAt.slice(0, ws))) continue; // host:port/db, then prose
    const wsAfter = seg.slice(firstAt).search(/\s/);
    const limit = wsAfter === -1 ? seg.length : firstAt + wsAfter;
    const lastAt = seg.lastIndexOf('@', limit - 1);
    out += text.slice(copied, st.end + pwStart) + MASK;
    copied = st.end + lastAt;
  }
  return out + text.slice(copied);
}

export function maskSecrets(text: string): string {
  return maskUriPasswords(maskTokenSetting(text))
    .replace(QUERY_PASSWORD, `$1${MASK}`)
    .replace(KV_PASSWORD, `$1${MASK}`)
    .replace(SECRET_ASSIGNMENT, `$1${MASK}`)
    .replace(AGE_SECRET_KEY, 'AGE-SECRET-KEY-****')
    .replace(SQL_PASSWORD_LITERAL, `$1'${MASK}'`)
    .replace(JWT, `eyJ${MASK}`)
    .replace(PREFIXED_TOKEN, `$1${MASK}`)
    .replace(AWS_KEY_ID, `AKIA${MASK}`)
    .replace(AWS_SECRET_LABELLED, `$1${MASK}`)
    .replace(AUTH_HEADER, `$1${MASK}`)
    .replace(SECRET_FLAG, `$1${MASK}`);
}

/** Deep-masks every string inside a JSON-like value. */
export function maskDeep<T>(value: T): T {
  if (typeof value === 'string') return maskSecrets(value) as T;
  if (Array.isArray(value)) return value.map((v) => maskDeep(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = /password|secret|token|identity|private|api_?key|apikey|authorization|credential/i.test(k) && typeof v === 'string' ? MASK : maskDeep(v);
    }
    return out as T;
  }
  return value;
}

/** `prodguard.token` as a setting name in any quoting (`"prodguard".token`, `prodguard."token"`). */
const TOKEN_NAME = String.raw`"?prodguard"?\s*\.\s*"?token"?`;
const TOKEN_VALUE = String.raw`(?:"(?:[^"]|"")*"|[eE]?'(?:[^'\\]|''|\\.)*'|\$([A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?\$\2\$|[^\s;,)]+)`;
const TOKEN_SET = new RegExp(String.raw`(\b${TOKEN_NAME}\s*(?:=|\bto\b)\s*)${TOKEN_VALUE}`.replace('\\2', '\\2'), 'gi');
const TOKEN_SET_CONFIG = new RegExp(String.raw`(set_config\s*\(\s*'${TOKEN_NAME}'\s*,\s*)${TOKEN_VALUE}`, 'gi');

/**
 * Masks the value given to the lockdown token setting — `SET prodguard.token = tok…` unquoted,
 * single- or double-quoted, `TO`, and set_config('prodguard.token', …) — so a token never
 * reaches the audit log (red-team gw-253, gw-257, gw-258, gw-260).
 */
export function maskTokenSetting(sql: string): string {
  if (!/token/i.test(sql)) return sql;
  return sql.replace(TOKEN_SET, '$1****').replace(TOKEN_SET_CONFIG, '$1****');
}
