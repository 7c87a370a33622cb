/**
 * Before a backup writes anything: are its destinations and recipients the ones the signed policy
 * in force lists (red team ap-078)? prodguard.yaml's `backup:` section is working tree, so a
 * developer could add their own bucket or age key there and let the next legitimate backup of
 * production (the nightly one, a deploy's pre-migration one) deliver production's data to them.
 *
 * - The configured terms equal the policy's (src/policy/backup-terms.ts): authorised; the manifest
 *   records that policy version.
 * - They differ and the environment is production — by the config's kind, by the policy's
 *   enrolled identities, or by what the database itself says it is (its identity row, its
 *   server and name): refused, before any destination is opened.
 * - The policy chain is broken or rolled back: production is refused too (a deleted chain must not
 *   turn the check off).
 * - No policy at all (the demo, local development): allowed and recorded as unsigned — unless the
 *   database carries production's policy pin (it was deployed under a policy this store lacks).
 * - The database carries production's policy pin (a deploy recorded the policy it was judged by):
 *   only a policy chain that contains that exact pinned policy authorises it (the rule deploy,
 *   break-glass and restore follow — red team w5c-020/086). A self-signed SQLite store or another
 *   database named as the store holds a policy "in force" too, but not production's.
 * Other environments (staging, local) are not refused; their manifests say whether the policy
 * authorised their destinations.
 */
import type { Context } from '../context.js';
import { RefusedError } from '../errors.js';
import { readPolicyChain } from '../policy/chain.js';
import { backupTermsDifference, backupTermsFromConfig } from '../policy/backup-terms.js';
import { readFactsAt, type ReachedFacts } from '../policy/environment-identity.js';
import { pinProblem, readProductionPin } from '../policy/production-pin.js';
import type { EnvironmentIdentity } from '../policy/document.js';

/** The policy version whose signed terms list exactly this backup's destinations and recipients. */
export interface DestinationsAuthority {
  version: number;
  hash: string;
}

function isPinnedProduction(f: ReachedFacts, pinned: Record<string, EnvironmentIdentity>): boolean {
  if (f.enrolledAs?.kind === 'production') return true;
  return Object.values(pinned).some(
    (p) => p.kind === 'production' && (f.envId === p.envId || (f.systemIdentifier !== 'unreadable' && f.systemIdentifier === p.systemIdentifier && f.database === p.database)),
  );
}

/** Is `env` production? Unreadable facts count as production (fail closed). */
async function isProductionEnv(ctx: Context, env: string, url: string, pinned: Record<string, EnvironmentIdentity>): Promise<boolean> {
  if (ctx.loaded.config.environments[env]?.kind === 'production' || pinned[env]?.kind === 'production') return true;
  try {
    return isPinnedProduction(await readFactsAt(url), pinned);
  } catch {
    return true;
  }
}

export interface AuthoriseOptions {
  /** What is written, for the refusal ("backup of production refused"): default "backup". */
  what?: string;
  /** The environment holds production's data (its shadow): judged as production. */
  asProduction?: boolean;
}

/**
 * The policy that authorises this backup's destinations, null when none does (unsigned); throws a
 * RefusedError (code backup.destinations-unsigned) when production's would go anywhere unsigned.
 */
export async function authoriseDestinations(ctx: Context, env: string, url: string, opts: AuthoriseOptions = {}): Promise<DestinationsAuthority | null> {
  const what = opts.what ?? 'backup';
  const isProduction = async (pinned: Record<string, EnvironmentIdentity>) => opts.asProduction === true || (await isProductionEnv(ctx, env, url, pinned));
  const actual = backupTermsFromConfig(ctx.loaded.config, ctx.loaded.root);
  const chain = await readPolicyChain(ctx);
  let pin: { version: number; hash: string } | null = null;
  try {
    pin = await readProductionPin(url);
  } catch {
    pin = null; // unreachable: the backup itself fails to connect
  }
  if (!chain.ok) {
    if (pin || (await isProduction({}))) {
      throw new RefusedError(`${what} of ${env} refused: no policy in force to sign its destinations (${chain.problem})`, 'backup.destinations-unsigned');
    }
    return null;
  }
  const inForce = chain.inForce;
  if (!inForce) {
    if (pin) {
      throw new RefusedError(
        `${what} of ${env} refused: the database was deployed under policy version ${pin.version}, but this state store has no policy in force to sign its backup destinations`,
        'backup.destinations-unsigned',
      );
    }
    return null;
  }
  if (pin) {
    const problem = await pinMismatch(ctx, url, pin, inForce);
    if (problem) throw new RefusedError(`${what} of ${env} refused: ${problem}`, 'backup.destinations-unsigned');
  }
  const diff = backupTermsDifference(inForce.policy.backup, actual);
  if (!diff) return { version: inForce.policy.version, hash: inForce.hash };
  if (!(await isProduction(inForce.policy.environments))) return null;
  throw new RefusedError(
    `${what} of ${env} refused: prodguard.yaml's backup destinations/recipients are not the ones the policy in force (version ${inForce.policy.version}) signs — ${diff}; ` +
      `put them into the policy with prodguard policy propose + ${inForce.policy.threshold} senior signature(s) (prodguard policy sign), or restore backup: in prodguard.yaml`,
    'backup.destinations-unsigned',
  );
}

/**
 * Why the store's policy in force is not the one production is pinned to (null: it is, or it is a
 * signed successor of it). One line naming both versions and hashes; also used by status rule 4.
 */
export async function pinMismatch(ctx: Context, url: string, pin: { version: number; hash: string }, inForce: { hash: string; policy: { version: number } }): Promise<string | null> {
  const problem = await pinProblem(ctx, url);
  if (!problem) return null;
  return (
    `production is pinned to policy version ${pin.version} (${pin.hash.slice(0, 12)}) but the state store's policy in force is version ${inForce.policy.version} (${inForce.hash.slice(0, 12)}) — ${problem}; ` +
    `only the team's own policy chain authorises production's backup destinations (check state: in prodguard.yaml and --config)`
  );
}
