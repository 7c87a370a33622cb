/**
 * Before a staging refresh fetches production's backup: does the policy in force sign what
 * `staging.masking` leaves unmasked (red team w5c-044)? prodguard.yaml is working tree, so a
 * `strategy: keep` (or a `scrub`, or a jsonb rule at `paths`) written there by a developer must
 * not decide that production's names and e-mails land in staging. src/policy/masking-terms.ts
 * says what the policy pins and how the configured rules are compared with it.
 *
 * - Configured rules keep or partly mask a column the policy in force does not sign: refused
 *   (`staging.masking-unsigned`), audited, before anything is fetched.
 * - No policy in force (none pinned yet, or the chain is broken/rolled back): nothing is signed,
 *   so any kept or partial rule is refused; a broken chain refuses every refresh. A refresh whose
 *   rules all mask whole still runs without a policy (PII detection is then the only check).
 * - Production carries a policy pin (a deploy recorded the policy it was judged by): only a
 *   state-store chain that contains it signs masking (a self-signed SQLite store, or another
 *   database named as the store, holds a policy "in force" too, but not production's). An
 *   unreadable pin refuses when the rules rely on signed kept/partial columns.
 * - A signed rule gone from prodguard.yaml is refused once the private copy shows the column
 *   still exists (signedMaskingRemoved), before masking; the private copy is dropped.
 */
import type pg from 'pg';
import type { Context } from '../context.js';
import { tryConnectionUrl } from '../config/connection.js';
import { RefusedError } from '../errors.js';
import { readPolicyChain } from '../policy/chain.js';
import { productionPinRefusal } from '../policy/production-pin.js';
import { removedMasking, ruleKind, unsignedMasking, type MaskingTerms } from '../policy/masking-terms.js';
import { colKey, type ColumnRef, type MaskRule } from './masking.js';

export interface MaskingAuthority {
  /** The policy whose signed masking terms this refresh is judged by (null: no policy in force). */
  policy: { version: number; hash: string } | null;
  terms: MaskingTerms | undefined;
}

const CODE = 'staging.masking-unsigned';

export async function authoriseMasking(ctx: Context, from: string, rules: MaskRule[]): Promise<MaskingAuthority> {
  const chain = await readPolicyChain(ctx);
  if (!chain.ok) throw new RefusedError(`staging refresh refused: no policy in force to sign staging's masking (${chain.problem})`, CODE);
  const relies = rules.some((r) => ruleKind(r) !== 'whole');
  const prodUrl = tryConnectionUrl(ctx.loaded, from);
  if (prodUrl) {
    const problem = await productionPinRefusal(ctx, prodUrl);
    // Unreachable production: only a refresh that needs the policy's signature is refused.
    if (problem && (relies || !/^cannot read production's policy pin/.test(problem))) {
      throw new RefusedError(`staging refresh refused: the state store's policy is not the one ${from} is pinned to, so it cannot sign staging's masking — ${problem}`, CODE);
    }
  }
  const inForce = chain.inForce;
  const terms = inForce?.policy.masking;
  const unsigned = unsignedMasking(terms, rules);
  if (unsigned.length) {
    const by = inForce
      ? `the policy in force (version ${inForce.policy.version}) does not sign${terms ? '' : ' (it predates signed masking: it lets no column be kept or partly masked)'}`
      : 'no policy in force signs (prodguard policy init pins one)';
    const how = inForce ? `put them into the policy with prodguard policy propose + ${inForce.policy.threshold} senior signature(s) (prodguard policy sign)` : 'pin a policy with prodguard policy init';
    throw new RefusedError(
      `staging refresh refused: staging.masking leaves column(s) of ${from}'s data unmasked or partly masked that ${by} — ${unsigned.join(', ')}; ${how}, or mask them whole in prodguard.yaml`,
      CODE,
    );
  }
  return { policy: inForce ? { version: inForce.policy.version, hash: inForce.hash } : null, terms };
}

const COLUMNS_SQL = `SELECT n.nspname AS schema, c.relname AS table, a.attname AS column
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'f', 'm') AND a.attnum > 0 AND NOT a.attisdropped`;

/** Throws when a signed rule is gone from prodguard.yaml while the private copy still has its column. */
export async function signedMaskingRemoved(c: pg.Client, a: MaskingAuthority, rules: MaskRule[]): Promise<void> {
  if (!a.terms) return;
  const existing = new Set((await c.query<ColumnRef>(COLUMNS_SQL)).rows.map(colKey));
  const removed = removedMasking(a.terms, rules, existing);
  if (removed.length) {
    throw new RefusedError(
      `staging.masking no longer masks column(s) the policy in force (version ${a.policy?.version}) signs as masked — ${removed.join(', ')}; restore the rule(s) in prodguard.yaml, or remove them from the policy with prodguard policy propose + senior signatures (prodguard policy sign)`,
      CODE,
    );
  }
}
