/** The approval terms of the policy in force, for approvals, the gate and status. */
import type { Context } from '../context.js';
import type { ApprovalTerms } from '../migrate/approvals.js';
import { policyInForce, type PolicyInForce } from './chain.js';

export function approvalTermsOf(p: PolicyInForce): ApprovalTerms {
  return { members: p.policy.members, approvals: p.policy.approvals, source: `the team of the policy in force (version ${p.policy.version})` };
}

export async function approvalTermsInForce(ctx: Context): Promise<{ terms: ApprovalTerms | null; inForce: PolicyInForce | null; problem: string | null }> {
  const { inForce, problem } = await policyInForce(ctx);
  return { terms: inForce ? approvalTermsOf(inForce) : null, inForce, problem };
}
