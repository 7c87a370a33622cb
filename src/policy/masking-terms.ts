/**
 * Which columns a staging refreshed from production may hold unmasked, as part of the signed
 * policy (red team w5c-044). `staging.masking` in prodguard.yaml is working tree: a developer who
 * writes `strategy: keep` (or `scrub` on a name column, or a jsonb rule whose `paths` match
 * nothing, or deletes the rule of a column detection does not recognise) gets production's
 * personal data into staging on the next refresh. So the policy pins the masking rules, and a
 * refresh whose configured rules mask less than the signed ones is refused (staging-refresh.ts).
 *
 * A column is identified as `schema.table.column` (`customers` → `public.customers`). Each rule is
 * one of three kinds:
 * - whole: any strategy but `keep`/`scrub`, without `paths` (or `null`, which ignores them) —
 *   every value is replaced; which strategy is not pinned (all of them hide the value);
 * - partial: `scrub` (replaces e-mails, phones, tokens… inside text, leaves names), or a strategy
 *   at `paths` (masks only those leaves of a document) — pinned as written:
 *   `public.t.c scrub`, `public.t.c email at $.a,$.b` (paths sorted);
 * - kept: `keep` — copied unmasked.
 *
 * Masking *more* than the policy signs needs no signature: a new whole rule, or extra partial rules
 * next to the signed ones. A kept or partial rule the policy does not sign is refused before the
 * refresh fetches anything; a signed rule that is gone from prodguard.yaml is refused once the
 * private copy shows its column still exists (a dropped column needs no rule). A policy signed
 * before this existed signs nothing: no column may be kept or partly masked until the seniors sign.
 */
import type { MaskRule } from '../migrate/masking.js';

export interface MaskingTerms {
  /** Columns masked whole (schema.table.column), sorted, unique. */
  masked: string[];
  /** Partial rules (`<column> scrub`, `<column> <strategy> at <paths>`), sorted, unique. */
  partial: string[];
  /** Columns copied unmasked (strategy keep), sorted, unique. */
  kept: string[];
}

export const NO_MASKING_SIGNED: MaskingTerms = { masked: [], partial: [], kept: [] };

/** `customers` → `public.customers.email`; `auth.users` → `auth.users.email`. */
export function columnIdentity(r: Pick<MaskRule, 'table' | 'column'>): string {
  const t = r.table.trim();
  return `${t.includes('.') ? t : `public.${t}`}.${r.column.trim()}`;
}

export type RuleKind = 'whole' | 'partial' | 'kept';

export function ruleKind(r: Pick<MaskRule, 'strategy' | 'paths'>): RuleKind {
  if (r.strategy === 'keep') return 'kept';
  if (r.strategy === 'null') return 'whole';
  if (r.strategy === 'scrub' || r.paths?.length) return 'partial';
  return 'whole';
}

/** A partial rule as pinned: `<column> scrub` or `<column> <strategy> at <sorted paths>`. */
export function partialIdentity(r: MaskRule): string {
  const paths = r.paths?.length ? ` at ${[...new Set(r.paths)].sort().join(',')}` : '';
  return `${columnIdentity(r)} ${r.strategy}${paths}`;
}

const sortedUnique = (xs: string[]) => [...new Set(xs)].sort();

export function maskingTermsFromRules(rules: MaskRule[]): MaskingTerms {
  return {
    masked: sortedUnique(rules.filter((r) => ruleKind(r) === 'whole').map(columnIdentity)),
    partial: sortedUnique(rules.filter((r) => ruleKind(r) === 'partial').map(partialIdentity)),
    kept: sortedUnique(rules.filter((r) => ruleKind(r) === 'kept').map(columnIdentity)),
  };
}

const columnOfPartial = (p: string) => p.slice(0, p.indexOf(' '));

function describeRule(r: MaskRule): string {
  return r.strategy === 'keep' ? 'keep' : partialIdentity(r).slice(columnIdentity(r).length + 1);
}

function describeSigned(pinned: MaskingTerms, col: string): string {
  if (pinned.masked.includes(col)) return 'masked whole';
  const parts = pinned.partial.filter((p) => columnOfPartial(p) === col).map((p) => p.slice(col.length + 1));
  if (parts.length) return parts.join(' + ');
  if (pinned.kept.includes(col)) return 'keep';
  return 'nothing';
}

/**
 * Configured rules that leave a column (partly) unmasked without the policy's signature, as one
 * line per column (empty: none). A column is fine when a configured rule masks it whole, when the
 * policy signs keeping it, or when every partial rule the policy signs for it is configured.
 * `pinned` undefined: a policy (or no policy) from before masking was signed — it signs nothing.
 */
export function unsignedMasking(pinned: MaskingTerms | undefined, rules: MaskRule[]): string[] {
  const signed = pinned ?? NO_MASKING_SIGNED;
  const byColumn = new Map<string, MaskRule[]>();
  for (const r of rules) byColumn.set(columnIdentity(r), [...(byColumn.get(columnIdentity(r)) ?? []), r]);
  const out: string[] = [];
  for (const [col, rs] of [...byColumn].sort(([a], [b]) => a.localeCompare(b))) {
    if (rs.some((r) => ruleKind(r) === 'whole')) continue;
    if (signed.kept.includes(col)) continue;
    const signedParts = signed.partial.filter((p) => columnOfPartial(p) === col);
    const configured = new Set(rs.filter((r) => ruleKind(r) === 'partial').map(partialIdentity));
    if (signedParts.length && signedParts.every((p) => configured.has(p))) continue;
    out.push(`${col} (configured: ${rs.map(describeRule).join(' + ')}; signed: ${describeSigned(signed, col)})`);
  }
  return out;
}

/**
 * Columns whose signed masking is gone from prodguard.yaml (no rule names them any more), among
 * `existing` (colKey-style `schema.table.column` of the private copy's columns): a column that no
 * longer exists needs no rule.
 */
export function removedMasking(pinned: MaskingTerms | undefined, rules: MaskRule[], existing: Set<string>): string[] {
  if (!pinned) return [];
  const configured = new Set(rules.map(columnIdentity));
  const signedCols = sortedUnique([...pinned.masked, ...pinned.partial.map(columnOfPartial)]);
  return signedCols.filter((c) => !configured.has(c) && existing.has(c)).map((c) => `${c} (signed: ${describeSigned(pinned, c)}; configured: no rule)`);
}

/** One line on how the configured rules differ from the signed ones (null: exactly the same). */
export function maskingTermsDifference(pinned: MaskingTerms | undefined, actual: MaskingTerms): string | null {
  if (!pinned) return 'the policy in force signs no staging masking yet';
  const diffs: string[] = [];
  const list = (what: string, a: string[], b: string[]) => {
    const x = a.filter((v) => !b.includes(v));
    if (x.length) diffs.push(`${what}: ${x.join(', ')}`);
  };
  list('kept, not signed', actual.kept, pinned.kept);
  list('partly masked, not signed', actual.partial, pinned.partial);
  list('masked whole, not in the policy', actual.masked, pinned.masked);
  list('signed keep not configured', pinned.kept, actual.kept);
  list('signed partial rule not configured', pinned.partial, actual.partial);
  list('signed whole masking not configured', pinned.masked, actual.masked);
  return diffs.length ? diffs.join('; ') : null;
}
