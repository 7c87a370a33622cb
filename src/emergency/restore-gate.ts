/**
 * The hook the restore layer calls before writing anywhere: a target recognised as production is
 * refused unless it is `--replace` (the only production restore that makes sense in an incident)
 * and the person running it holds an open break-glass grant for that environment. Restore itself
 * backs the non-empty target up before replacing it; the grant id goes into its audit record.
 *
 * Known limit: the grant itself was opened with a key of a senior of the policy in force, but the
 * person running the restore is matched by name (currentActor: PRODGUARD_ACTOR / git identity), not
 * by a key signature. The name/e-mail aliases come from the policy in force, not from prodguard.yaml,
 * so editing the working tree cannot make someone else's grant yours.
 */
import type { Context } from '../context.js';
import { RefusedError } from '../errors.js';
import { currentActor } from '../audit/actor.js';
import { isSamePerson } from '../migrate/approvals.js';
import { listGrants, grantIsActive } from '../grants/grants.js';
import { refuseProduction, type RestoreTarget } from '../restore/target.js';
import { policyInForce } from '../policy/chain.js';

/** Returns the break-glass grant id that allows this production restore, null for non-production. */
export async function productionRestoreGate(ctx: Context, target: RestoreTarget, replace: boolean): Promise<string | null> {
  if (target.resolved.kind !== 'production') return null;
  const env = target.resolved.name;
  if (!env) refuseProduction(target);
  if (!replace) {
    throw new RefusedError(`refusing to restore over production (${target.label}): only \`--replace\` under an open break-glass grant (prodguard break-glass --env ${env} …) may write there; restore into a new database elsewhere and compare first`, 'restore.production');
  }
  const actor = currentActor();
  const grants = (await listGrants(await ctx.store(), { env: env! })).filter((g) => g.kind === 'break-glass' && grantIsActive(g));
  const members = (await policyInForce(ctx)).inForce?.policy.members ?? [];
  const mine = grants.find((g) => {
    const m = members.find((t) => t.name === g.person);
    return m ? isSamePerson(m, actor) : g.person === actor;
  });
  if (!mine) {
    throw new RefusedError(
      `refusing to restore over production (${target.label}): that needs an open break-glass grant for ${env} held by you (${actor}); open one with prodguard break-glass --env ${env} --reason "…" --key <your key>`,
      'restore.production',
    );
  }
  return mine.id;
}
