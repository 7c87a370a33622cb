/**
 * The policy in force, remembered by production itself. Each successful deploy records in
 * production's `prodguard.policy_pin` the policy (version, hash) it was judged by; the next gate
 * requires the state store's verified chain to still contain exactly that version. Someone who can
 * write to the team store but not to production (or a laptop's SQLite store) can therefore not
 * replace the chain with a newly pinned policy of their own: production would not recognise it.
 */
import type { Context } from '../context.js';
import { withClient } from '../pg/client.js';
import { errorMessage } from '../errors.js';
import { chainId, POLICY_CHAIN, readPolicyChain } from './chain.js';
import { policyHash } from './document.js';
import type { SignedPolicy } from './signatures.js';
import { CREATE_POLICY_PIN_SQL, PIN_EXISTS_SQL, READ_POLICY_PIN_SQL, UPSERT_POLICY_PIN_SQL } from './sql/pin.js';

export async function readProductionPin(url: string): Promise<{ version: number; hash: string } | null> {
  return withClient(url, async (c) => {
    if (!(await c.query(PIN_EXISTS_SQL)).rows[0].exists) return null;
    const row = (await c.query(READ_POLICY_PIN_SQL)).rows[0] as { version: number; hash: string } | undefined;
    return row ?? null;
  });
}

export async function pinPolicyInProduction(url: string, p: { version: number; hash: string }): Promise<void> {
  await withClient(url, async (c) => {
    await c.query(CREATE_POLICY_PIN_SQL);
    await c.query(UPSERT_POLICY_PIN_SQL, [p.version, p.hash]);
  });
}

/** null when the store's chain carries production's pinned policy (and is not older); else why not. */
export async function pinProblem(ctx: Context, url: string): Promise<string | null> {
  const pin = await readProductionPin(url);
  if (!pin) return null;
  const chain = await readPolicyChain(ctx);
  if (!chain.ok) return chain.problem;
  const pinned = `the policy production last deployed under (version ${pin.version}, ${pin.hash.slice(0, 12)})`;
  // A head older than the pin is a chain cut back (or replaced): production has seen a newer policy.
  if (!chain.inForce || chain.inForce.policy.version < pin.version) {
    return `the policy in force in the state store (${chain.inForce ? `version ${chain.inForce.policy.version}` : 'none'}) is older than ${pinned}: the stored policy was rolled back or replaced`;
  }
  const link = await (await ctx.store()).get<SignedPolicy>(POLICY_CHAIN, chainId(pin.version));
  if (!link?.policy || policyHash(link.policy) !== pin.hash) {
    return `the policy chain in the state store does not contain ${pinned}: the stored policy was replaced, not rotated`;
  }
  return null;
}

/**
 * The one pin check every production gate makes (deploy, break-glass, restore onto production):
 * pinProblem, with "cannot read the pin" as a refusal too. A database that does not exist holds no
 * pin (it was dropped: restoring it is the incident), like a production never deployed to.
 */
export async function productionPinRefusal(ctx: Context, url: string): Promise<string | null> {
  try {
    return await pinProblem(ctx, url);
  } catch (err) {
    const e = err as { code?: string; cause?: { code?: string } };
    if (e.code === '3D000' || e.cause?.code === '3D000') return null;
    return `cannot read production's policy pin: ${errorMessage(err)}`;
  }
}
