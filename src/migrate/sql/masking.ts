/**
 * Masking expressions for staging refresh. Deterministic: the same original value gives the same
 * masked value on every refresh (joins on masked columns keep working), keyed by a per-project
 * random salt kept in the state store so the masked values cannot be reversed from a dictionary.
 * E-mails and names are hashed case-insensitively (Ann@X.test and ann@x.test mask alike, so
 * joins on lower(email) hold). NULL stays NULL. `$1` is the salt.
 */
export type MaskStrategy = 'email' | 'name' | 'phone' | 'hash' | 'null' | 'text' | 'scrub' | 'keep';

/** Patterns scrubbed inside free text (`scrub`), replaced by fixed placeholders. */
export const SCRUB_PATTERNS: Array<{ re: string; with: string; flags?: string }> = [
  // A value after a credential label ("password: hunter1", "api_key=…"): the label stays, the value goes.
  { re: '\\m(password|passwd|pwd|passphrase|secret|api[_ -]?key|access[_ -]?key|token|pin)(\\s*[:=]\\s*|\\s+is\\s+)[^\\s,;]+', with: '\\1\\2[secret]', flags: 'i' },
  { re: '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}', with: 'redacted@example.invalid' },
  // Spelled-out addresses: "uma1 at realcorp dot com", "uma1(at)realcorp(dot)com".
  { re: '\\m[A-Za-z0-9._%+-]+\\s*(\\(at\\)|\\[at\\]|\\sat\\s)\\s*[A-Za-z0-9-]+(\\s*(\\(dot\\)|\\[dot\\]|\\sdot\\s)\\s*[A-Za-z0-9-]+)+', with: 'redacted@example.invalid', flags: 'i' },
  // Cloud access key ids (AWS AKIA…/ASIA…) and IBANs (country, check digits, 11–30 alphanumerics, spaces allowed).
  { re: '\\m(AKIA|ASIA)[0-9A-Z]{16}\\M', with: '[token]' },
  { re: '\\m[A-Z]{2}[0-9]{2}( ?[A-Z0-9]{4}){2,7}( ?[A-Z0-9]{1,4})?\\M', with: '[iban]' },
  { re: '\\m[0-9]{1,3}(\\.[0-9]{1,3}){3}\\M', with: '[ip]' },
  { re: '\\m(sk|pk|rk)_(live|test)_[A-Za-z0-9]{8,}|\\mgh[pousr]_[A-Za-z0-9]{20,}|\\meyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}', with: '[token]' },
  { re: '\\m(\\d[ -]?){13,19}\\M', with: '[number]' },
  { re: '(\\+\\d{1,3}[ .-]?)?\\m\\(?\\d{2,5}\\)?([ .-]\\d{2,5}){1,4}\\M|\\+?\\m\\d{9,15}\\M', with: '[phone]' },
];

export function maskExpression(strategy: MaskStrategy, col: string): string {
  const h = `md5($1::text || ${col}::text)`;
  const hl = `md5($1::text || lower(${col}::text))`;
  switch (strategy) {
    case 'email':
      return `CASE WHEN ${col} IS NULL THEN NULL ELSE 'user_' || substr(${hl}, 1, 16) || '@example.invalid' END`;
    case 'name':
      return `CASE WHEN ${col} IS NULL THEN NULL ELSE 'Person ' || upper(substr(${hl}, 1, 8)) END`;
    case 'phone':
      return `CASE WHEN ${col} IS NULL THEN NULL ELSE '+1555' || lpad(((('x' || substr(${h}, 1, 8))::bit(32)::bigint % 10000000))::text, 7, '0') END`;
    case 'hash':
      return `CASE WHEN ${col} IS NULL THEN NULL ELSE ${h} END`;
    case 'null':
      return 'NULL';
    case 'text':
      return `CASE WHEN ${col} IS NULL THEN NULL ELSE 'masked-' || substr(${h}, 1, 12) END`;
    case 'scrub': {
      let e = `${col}::text`;
      for (const p of SCRUB_PATTERNS) e = `regexp_replace(${e}, '${p.re.replace(/'/g, "''")}', '${p.with}', '${p.flags ?? ''}g')`;
      return e;
    }
    case 'keep':
      return col;
  }
}

/** Single-column foreign keys pointing at a column: (schema, table, column) of each referencing column. */
export const REFERENCING_COLUMNS_SQL = `
SELECT rn.nspname AS schema, rc.relname AS table, ra.attname AS column
  FROM pg_constraint k
  JOIN pg_class tc ON tc.oid = k.confrelid JOIN pg_namespace tn ON tn.oid = tc.relnamespace
  JOIN pg_class rc ON rc.oid = k.conrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
  JOIN LATERAL unnest(k.confkey, k.conkey) AS u(fk, rk) ON true
  JOIN pg_attribute ta ON ta.attrelid = k.confrelid AND ta.attnum = u.fk
  JOIN pg_attribute ra ON ra.attrelid = k.conrelid AND ra.attnum = u.rk
 WHERE k.contype = 'f' AND tn.nspname = $1 AND tc.relname = $2 AND ta.attname = $3`;

/** Materialized views, oldest first (a view built on another is created after it). */
export const MATVIEWS_SQL = `
SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'm' ORDER BY c.oid`;

/** Columns of user tables, for PII detection. */
export const USER_COLUMNS_SQL = `
SELECT n.nspname AS schema, c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
       a.attgenerated <> '' AS generated
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'prodguard') AND n.nspname NOT LIKE 'pg_%'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY 1, 2, a.attnum`;
