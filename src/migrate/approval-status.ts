/**
 * `migrate approvals <change>`: the approvals of a requested change judged against the approval
 * terms of the policy in force (never the working tree's), with why any does not count.
 */
import type { Context } from '../context.js';
import { resolveChange } from './approve.js';
import { evaluateApprovals, type ApprovalSummary } from './approvals.js';
import { approvalTermsInForce } from '../policy/terms.js';
import { RefusedError } from '../errors.js';

export async function approvalStatus(ctx: Context, change: string): Promise<{ hash: string; summary: ApprovalSummary }> {
  const c = await resolveChange(ctx, change);
  const t = await approvalTermsInForce(ctx);
  if (!t.terms) throw new RefusedError(t.problem!, 'policy.none');
  const summary = evaluateApprovals(ctx.loaded, { environment: c.environment, hash: c.hash, migrations: c.migrations }, c.author, new Date(), [], t.terms);
  return { hash: c.hash, summary };
}
