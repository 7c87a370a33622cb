/**
 * The policy in force, kept as a chain in the state store (collection policy-chain): version 1
 * is pinned explicitly by `policy init`; version n+1 counts only when it names version n's hash
 * and carries valid signatures by at least version n's threshold of version n's seniors (root
 * rotation in the spirit of TUF). Every read re-verifies the whole chain, so a row written into
 * the store by hand that is not properly signed breaks the chain instead of taking effect.
 *
 * The chain lives in the state store, never in the working tree: a branch cannot change it.
 * Deleting its newest links (or all of them) needs no signature, so with a team store the chain is
 * also compared with the versions its append-only audit log records as having come into force
 * (src/policy/anchor.ts): a rollback or rewrite is no policy at all.
 */
import type { Context } from '../context.js';
import { policyHash, policyProblems, type PolicyDocument } from './document.js';
import { validSeniorSigners, type SignedPolicy } from './signatures.js';
import { anchorProblem, recordedPolicies } from './anchor.js';

export const POLICY_CHAIN = 'policy-chain';

export interface PolicyInForce {
  policy: PolicyDocument;
  hash: string;
  signers: string[];
}

export type ChainRead = { ok: true; inForce: PolicyInForce | null } | { ok: false; problem: string };

export const chainId = (version: number) => String(version).padStart(8, '0');

/** Checks that `next` may follow `prev` (prev null: next is the pinned root, self-signed by a senior). */
export function checkSuccession(prev: PolicyDocument | null, next: SignedPolicy): { ok: boolean; signers: string[]; problem?: string } {
  const problems = policyProblems(next.policy);
  if (problems.length) return { ok: false, signers: [], problem: problems.join('; ') };
  if (!prev) {
    if (next.policy.version !== 1 || next.policy.previous !== null) return { ok: false, signers: [], problem: 'the first policy must be version 1 with no previous' };
    const { valid } = validSeniorSigners(next.policy, next.signatures, next.policy.members);
    return valid.length ? { ok: true, signers: valid } : { ok: false, signers: [], problem: 'the pinned policy is not signed by one of its seniors' };
  }
  if (next.policy.version !== prev.version + 1) return { ok: false, signers: [], problem: `version ${next.policy.version} does not follow ${prev.version}` };
  if (next.policy.previous !== policyHash(prev)) return { ok: false, signers: [], problem: `version ${next.policy.version} does not name version ${prev.version}'s hash` };
  const { valid } = validSeniorSigners(next.policy, next.signatures, prev.members);
  if (valid.length < prev.threshold) {
    return { ok: false, signers: valid, problem: `version ${next.policy.version} has ${valid.length} of the ${prev.threshold} senior signature(s) version ${prev.version} requires` };
  }
  return { ok: true, signers: valid };
}

/** Reads and verifies the whole chain; the newest valid link is the policy in force. */
export async function readPolicyChain(ctx: Context): Promise<ChainRead> {
  const store = await ctx.store();
  const links = (await store.list<SignedPolicy>(POLICY_CHAIN)).map((d) => ({ id: d.id, doc: d.doc })).sort((a, b) => a.id.localeCompare(b.id));
  let prev: PolicyDocument | null = null;
  let inForce: PolicyInForce | null = null;
  const verified: PolicyDocument[] = [];
  for (const l of links) {
    if (!l.doc?.policy || l.id !== chainId(l.doc.policy.version)) return { ok: false, problem: `policy chain entry ${l.id} is malformed` };
    const s = checkSuccession(prev, l.doc);
    if (!s.ok) return { ok: false, problem: `policy chain broken at version ${l.doc.policy.version}: ${s.problem}` };
    prev = l.doc.policy;
    verified.push(prev);
    inForce = { policy: l.doc.policy, hash: policyHash(l.doc.policy), signers: s.signers };
  }
  // Only a team store has the append-only anchor; a read failure there fails closed.
  if (store.readPolicyAnchors) {
    const rolledBack = anchorProblem(recordedPolicies(await store.readPolicyAnchors()), verified, policyHash);
    if (rolledBack) return { ok: false, problem: rolledBack };
  }
  return { ok: true, inForce };
}

/** The policy in force, or a one-line reason there is none usable. */
export async function policyInForce(ctx: Context): Promise<{ inForce: PolicyInForce | null; problem: string | null }> {
  const r = await readPolicyChain(ctx);
  if (!r.ok) return { inForce: null, problem: r.problem };
  if (!r.inForce) return { inForce: null, problem: 'no policy in force: a senior pins the first one with prodguard policy init --key <file>' };
  return { inForce: r.inForce, problem: null };
}

export async function appendToChain(ctx: Context, link: SignedPolicy): Promise<void> {
  await (await ctx.store()).put(POLICY_CHAIN, chainId(link.policy.version), link);
}
