/**
 * The hook the restore layer calls before writing anywhere: a target recognised as production is
 * refused unless it is `--replace` (the only production restore that makes sense in an incident)
 * and the person running it holds an open break-glass grant for that environment. Restore itself
 * backs the non-empty target up before replacing it; the grant id goes into its audit record.
 *
 * The person running the restore proves they are the grant's holder by possession of the holder's
 * private key (`--key`), matched against the public key the policy in force pins for that member —
 * a name (PRODGUARD_ACTOR, git identity) or a line in prodguard.yaml proves nothing. And the
 * policy in force must carry the one production's pin names (src/policy/production-pin.ts).
 */
import type { Context } from '../context.js';
import { RefusedError } from '../errors.js';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { formatPublicKey } from '../migrate/keys.js';
import { listGrants, grantIsActive } from '../grants/grants.js';
import { refuseProduction, type RestoreTarget } from '../restore/target.js';
import { policyInForce } from '../policy/chain.js';
import { productionPinRefusal } from '../policy/production-pin.js';

/** Returns the break-glass grant id that allows this production restore, null for non-production. */
export async function productionRestoreGate(ctx: Context, target: RestoreTarget, replace: boolean, key?: KeyObject): Promise<string | null> {
  if (target.resolved.kind !== 'production') return null;
  const env = target.resolved.name;
  if (!env) refuseProduction(target);
  if (!replace) {
    throw new RefusedError(`refusing to restore over production (${target.label}): only \`--replace\` under an open break-glass grant (prodguard break-glass --env ${env} …) may write there; restore into a new database elsewhere and compare first`, 'restore.production');
  }
  // The database about to be replaced remembers the policy it last deployed under: a grant issued
  // under a rolled-back or self-pinned policy (another store, --config) does not count.
  const pinned = await productionPinRefusal(ctx, target.url);
  if (pinned) throw new RefusedError(`refusing to restore over production (${target.label}): ${pinned}`, 'restore.policy-pin');
  const grants = (await listGrants(await ctx.store(), { env: env! })).filter((g) => g.kind === 'break-glass' && grantIsActive(g));
  const open = `open one with prodguard break-glass --env ${env} --reason "…" --key <your key>`;
  if (grants.length === 0) {
    throw new RefusedError(`refusing to restore over production (${target.label}): that needs an open break-glass grant for ${env} held by you; ${open}`, 'restore.production');
  }
  if (!key) {
    throw new RefusedError(`refusing to restore over production (${target.label}): pass --key <file>, the private key of the break-glass grant's holder (${grants.map((g) => g.person).join(', ')}); a name proves nothing`, 'restore.production');
  }
  const pub = formatPublicKey(createPublicKey(key));
  const members = (await policyInForce(ctx)).inForce?.policy.members ?? [];
  const holder = members.find((m) => m.publicKey?.trim() === pub);
  const mine = holder ? grants.find((g) => g.person === holder.name) : undefined;
  if (!mine) {
    throw new RefusedError(
      `refusing to restore over production (${target.label}): that needs an open break-glass grant for ${env} held by the owner of this key (${holder ? holder.name : 'no member of the policy in force'}); ${open}`,
      'restore.production',
    );
  }
  return mine.id;
}
