/**
 * Who counts for break-glass: the members of the signed, pinned policy in force (src/policy/chain.ts),
 * never the working tree's prodguard.yaml — a developer can edit that file and list themselves as
 * senior with their own key; they cannot sign a new policy into force.
 */
import type { Context } from '../context.js';
import { RefusedError } from '../errors.js';
import { policyInForce } from '../policy/chain.js';
import type { PolicyMember } from '../policy/document.js';

/** Every member of the policy in force, or a refusal (no policy pinned, or a broken chain). */
export async function membersInForce(ctx: Context): Promise<PolicyMember[]> {
  const { inForce, problem } = await policyInForce(ctx);
  if (!inForce) throw new RefusedError(`break-glass refused: ${problem}`, 'break-glass.no-policy');
  return inForce.policy.members;
}

export function seniorMembers(members: PolicyMember[]): PolicyMember[] {
  return members.filter((m) => m.role === 'senior');
}
