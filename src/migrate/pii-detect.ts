/**
 * Personal-data detection for staging refresh, in the spirit of PostgreSQL Anonymizer's
 * detection: column names, types, and the content of a sample of rows (e-mails, phone numbers,
 * tokens, card numbers). A refresh refuses while a detected column is neither masked by a rule
 * (or through a foreign key to a masked column) nor kept with a reason.
 */
import type pg from 'pg';
import { quoteIdent } from '../pg/client.js';
import { USER_COLUMNS_SQL } from './sql/masking.js';
import { colKey, expandRules, type ColumnRef, type MaskRule } from './masking.js';

const NAME_PATTERNS: Array<[RegExp, string]> = [
  [/e_?mail/i, 'name suggests an e-mail address'],
  [/phone|mobile|^tel$|telephone|msisdn/i, 'name suggests a phone number'],
  [/(first|last|full|given|family|middle|display|sur|user|customer|contact|owner|holder|recipient)_?name|^surname$|^(first|last|given|family|middle|who|recipient|addressee|contact_person)$/i, 'name suggests a person\'s name'],
  [/address|street|postcode|postal|zip_?code/i, 'name suggests an address'],
  [/birth|^dob$/i, 'name suggests a birth date'],
  [/ssn|social_security|passport|national_id|tax_id|iban|card_?number|^pan$|cvv/i, 'name suggests an identity or payment number'],
  [/password|passwd|pass_hash|secret|token|api_?key|private_key|otp/i, 'name suggests a credential'],
  [/^ip$|ip_?addr|last_sign_in_ip|user_agent/i, 'name suggests a network identity'],
  [/note|comment|message|bio|description|profile|payload|metadata|raw_user_meta|document/i, 'free text or document that may hold personal data'],
];

const CONTENT_PATTERNS: Array<[RegExp, string]> = [
  [/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/, 'content holds e-mail addresses'],
  // A separator or a leading + (bare digit runs are ids, versions and timestamps far more often).
  [/(?:^|[^\d\w])(?!\d{4}-\d\d-\d\d)(?:\+\d[\d ().-]{7,}\d|\(?\d{2,5}\)?[ .-]\d{2,5}[ .-]\d{2,5})(?![\d\w])/, 'content holds phone-like numbers'],
  [/\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{8,}|\bgh[pousr]_[A-Za-z0-9]{20,}|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./, 'content holds tokens'],
  [/\$2[aby]\$\d\d\$|\$argon2/, 'content holds password hashes'],
];

/** Types whose values cannot hold a name, an address or a token. */
const NO_TEXT_TYPE = /^(smallint|integer|bigint|numeric|real|double precision|boolean|date|time|timestamp|interval|uuid|money|oid|bytea|inet|cidr|macaddr|macaddr8|tsvector|tsquery|point|line|lseg|box|path|polygon|circle|bit|int4range|int8range|numrange|daterange|tsrange|tstzrange|pg_lsn|xid|xid8|regclass|regtype|regproc)(\b|\(|$)/;

const UUID_RE = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;

/**
 * CONTENT_PATTERNS in PostgreSQL's regex dialect (ARE: the same lookaheads and classes; `\y` for
 * JavaScript's `\b`), evaluated by the server over EVERY row of a column — a sample of the first
 * rows missed personal data placed after thousands of harmless ones (red team w5data).
 */
const SQL_CONTENT_PATTERNS: string[] = CONTENT_PATTERNS.map(([re]) => re.source.replace(/\\b/g, '\\y'));
const SQL_UUID = UUID_RE.source.replace(/\\b/g, '\\y');

export interface Detected extends ColumnRef {
  type: string;
  reasons: string[];
}

export interface Coverage {
  detected: Detected[];
  /** Detected columns with neither a rule, a foreign key to a masked column, nor a keep. */
  uncovered: Detected[];
  masked: Array<ColumnRef & { strategy: string; paths?: string[]; via?: string }>;
  kept: Array<ColumnRef & { reason: string }>;
}

export async function detectPii(c: pg.Client, sampleRows = 200): Promise<Detected[]> {
  const cols = (await c.query<ColumnRef & { type: string; generated: boolean }>(USER_COLUMNS_SQL)).rows;
  const out: Detected[] = [];
  for (const col of cols) {
    if (col.generated) continue; // recomputed from the columns it is built on when those are masked
    const reasons: string[] = [];
    // A name says nothing about a flag or a moment: email_confirmed_at, phone_confirmed_at (every Supabase project's auth.users) hold no address.
    const moment = col.type === 'boolean' || (/^timestamp/.test(col.type) && /_(at|on)$/i.test(col.column));
    if (!moment) for (const [re, why] of NAME_PATTERNS) if (re.test(col.column)) reasons.push(why);
    if (col.type === 'inet' || col.type === 'cidr') reasons.push('type is a network address');
    if (col.type === 'bytea' || col.type === 'oid') reasons.push(`type ${col.type} may hold documents`);
    // Its lexemes are the words of the text it indexes (a trigger fills it from a masked column with triggers off).
    if (col.type === 'tsvector') reasons.push('type tsvector holds the words of the text it indexes (mask it: any strategy empties it, null clears it)');
    // Every type that can carry text is sampled: composite types, domains, hstore, xml… (red team
    // ag-100: an e-mail inside a composite column went unnoticed); only types that cannot are skipped.
    if (!NO_TEXT_TYPE.test(col.type)) {
      const t = `${quoteIdent(col.schema)}.${quoteIdent(col.table)}`;
      const sample = (await c.query(`SELECT ${quoteIdent(col.column)}::text AS v FROM ${t} WHERE ${quoteIdent(col.column)} IS NOT NULL LIMIT ${Number(sampleRows)}`)).rows as Array<{ v: string }>;
      // UUIDs in text columns (auth.identities.provider_id) are ids: their all-digit groups are no phone numbers.
      const values = sample.map((r) => r.v.replace(UUID_RE, ''));
      const found = CONTENT_PATTERNS.map(([re]) => values.some((v) => re.test(v)));
      // Beyond the first rows: the whole column, each pattern once, by the server (no value leaves it).
      if (found.some((f) => !f)) {
        const v = `regexp_replace(${quoteIdent(col.column)}::text, $1, '', 'gi')`;
        const row = (await c.query(
          `SELECT ${SQL_CONTENT_PATTERNS.map((_, i) => `coalesce(bool_or(${v} ~ $${i + 2}), false) AS p${i}`).join(', ')} FROM ${t} WHERE ${quoteIdent(col.column)} IS NOT NULL`,
          [SQL_UUID, ...SQL_CONTENT_PATTERNS],
        )).rows[0] as Record<string, boolean>;
        SQL_CONTENT_PATTERNS.forEach((_, i) => (found[i] ||= row[`p${i}`] === true));
      }
      CONTENT_PATTERNS.forEach(([, why], i) => found[i] && reasons.push(why));
    }
    if (reasons.length) out.push({ schema: col.schema, table: col.table, column: col.column, type: col.type, reasons });
  }
  return out;
}

export async function coverage(c: pg.Client, rules: MaskRule[]): Promise<Coverage> {
  const detected = await detectPii(c);
  const expanded = await expandRules(c, rules);
  const byKey = new Map(expanded.map((r) => [colKey(r), r]));
  const reasons = new Map(rules.map((r) => [colKey({ schema: r.table.includes('.') ? r.table.split('.')[0] : 'public', table: r.table.includes('.') ? r.table.split('.')[1] : r.table, column: r.column }), r.reason]));
  return {
    detected,
    uncovered: detected.filter((d) => !byKey.has(colKey(d))),
    masked: expanded.filter((r) => r.strategy !== 'keep'),
    kept: expanded.filter((r) => r.strategy === 'keep').map((r) => ({ schema: r.schema, table: r.table, column: r.column, reason: reasons.get(colKey(r)) ?? '' })),
  };
}

export function uncoveredLine(u: Detected[]): string {
  return u.map((d) => `${d.schema}.${d.table}.${d.column} (${d.reasons.join('; ')})`).join(', ');
}
