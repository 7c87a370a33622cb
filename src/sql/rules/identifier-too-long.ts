import { scanSync } from '../parser.js';
import type { LintRule } from './types.js';

/** NAMEDATALEN - 1: PostgreSQL keeps the first 63 bytes of an identifier and drops the rest with only a NOTICE. */
const MAX_BYTES = 63;

/** Words and quoted names as written; only statements holding one over 63 bytes are scanned (the scanner is the slow part). */
const WORDS = /"(?:[^"]|"")*"|[\p{L}\p{N}_$]{16,}/gu;
const mayBeTooLong = (text: string): boolean => {
  for (const m of text.matchAll(WORDS)) if (m[0].length > 16 && Buffer.byteLength(m[0]) > MAX_BYTES) return true;
  return false;
};

/**
 * Identifiers of a statement as written. PostgreSQL's scanner already truncates them in the
 * parse tree, so the rule reads the scanner's tokens: quoted ones unquoted, unquoted ones folded.
 */
function identifiers(text: string): string[] {
  const out: string[] = [];
  for (const t of scanSync(text).tokens) {
    if (t.tokenName !== 'IDENT') continue;
    const raw = t.text;
    if (raw.startsWith('"')) out.push(raw.slice(1, -1).replace(/""/g, '"'));
    else if (!/^u&"/i.test(raw)) out.push(raw.toLowerCase());
  }
  return out;
}

/** The first 63 bytes of a name, cut on a character boundary as PostgreSQL does. */
export function truncateIdentifier(name: string): string {
  let bytes = 0;
  let out = '';
  for (const ch of name) {
    const b = Buffer.byteLength(ch);
    if (bytes + b > MAX_BYTES) break;
    bytes += b;
    out += ch;
  }
  return out;
}

export const rule: LintRule = {
  id: 'identifier-too-long',
  severity: 'warning',
  title: 'Identifier longer than 63 bytes',
  explanation:
    'PostgreSQL keeps only the first 63 bytes of a name (NAMEDATALEN) and drops the rest with a NOTICE nobody reads: the index or constraint then exists under a name the migration never wrote, a later migration that drops it by the full name keeps working only by luck, and two long names that share their first 63 bytes collide. Shorten the name.',
  examples: {
    bad: ['CREATE INDEX orders_customer_id_created_at_status_shipping_country_region_warehouse_idx ON orders (customer_id);'],
    good: ['CREATE INDEX orders_customer_created_idx ON orders (customer_id, created_at);'],
  },
  check: (s) => {
    if (!mayBeTooLong(s.text)) return undefined;
    return [...new Set(identifiers(s.text))]
      .filter((name) => Buffer.byteLength(name) > MAX_BYTES)
      .map((name) => `identifier "${name}" is ${Buffer.byteLength(name)} bytes; PostgreSQL truncates it to 63: "${truncateIdentifier(name)}"`);
  },
};
