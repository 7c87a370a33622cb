/**
 * `prodguard policy init|propose|sign|status`: pinning the first policy and changing it only
 * with enough senior signatures of the policy in force. Proposals are files in the repo
 * (config.policy.dir) so they travel through pull requests; signatures accumulate in them; the
 * signature that reaches the threshold moves the proposal into the chain (the policy in force).
 */
import { createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Context } from '../context.js';
import { RefusedError, UsageError, errorMessage } from '../errors.js';
import { formatPublicKey, loadPrivateKey } from '../migrate/keys.js';
import { policyHash, policyProblems, sameTerms, termsFromConfig, termsOf, type PolicyDocument } from './document.js';
import { appendToChain, checkSuccession, policyInForce, readPolicyChain, type PolicyInForce } from './chain.js';
import { signPolicy, validSeniorSigners, type SignedPolicy } from './signatures.js';
import type { BackupTerms } from './backup-terms.js';
import type { MaskingTerms } from './masking-terms.js';

export function policyDir(ctx: Context): string {
  return resolve(ctx.loaded.root, ctx.loaded.config.policy.dir);
}

const proposalFile = (ctx: Context, p: PolicyDocument) => join(policyDir(ctx), `v${p.version}-${policyHash(p).slice(0, 16)}.json`);

function writeProposal(ctx: Context, s: SignedPolicy): string {
  mkdirSync(policyDir(ctx), { recursive: true });
  const file = proposalFile(ctx, s.policy);
  writeFileSync(file, JSON.stringify(s, null, 2) + '\n');
  return file;
}

function readProposal(file: string): SignedPolicy {
  let s: SignedPolicy;
  try {
    s = JSON.parse(readFileSync(file, 'utf8')) as SignedPolicy;
  } catch (err) {
    throw new UsageError(`cannot read policy proposal ${file}: ${errorMessage(err)}`, 'policy.unreadable');
  }
  if (!s?.policy || !Array.isArray(s.signatures)) throw new UsageError(`${file} is not a policy proposal`, 'policy.invalid');
  return s;
}

async function refuse(ctx: Context, action: string, command: string, reason: string, code: string): Promise<never> {
  await ctx.audit({ action, command, target: '-', verdict: 'refused', reason });
  throw new RefusedError(reason, code);
}

/** Pins the first policy: the working tree's terms, signed by one of its seniors. */
export async function initPolicy(ctx: Context, opts: { keyFile: string }): Promise<PolicyInForce> {
  const command = 'prodguard policy init';
  const chain = await readPolicyChain(ctx);
  // With a team store an emptied chain whose versions the append-only audit log records is a
  // rollback (readPolicyChain): pinning a new version 1 over it would be a rewrite.
  if (!chain.ok) return refuse(ctx, 'policy.init', command, `${chain.problem}; the policy chain must be repaired, not re-pinned`, 'policy.broken');
  if (chain.inForce) {
    return refuse(ctx, 'policy.init', command, `a policy is already in force (version ${chain.inForce.policy.version}); change it with prodguard policy propose and sign`, 'policy.exists');
  }
  const policy: PolicyDocument = { version: 1, previous: null, ...termsFromConfig(ctx.loaded.config, ctx.loaded.root) };
  const problems = policyProblems(policy);
  if (problems.length) return refuse(ctx, 'policy.init', command, `the policy cannot be pinned: ${problems.join('; ')}`, 'policy.invalid');
  const key = loadPrivateKey(opts.keyFile);
  const pub = formatPublicKey(createPublicKey(key));
  const signer = policy.members.find((m) => m.publicKey === pub);
  if (!signer || signer.role !== 'senior') return refuse(ctx, 'policy.init', command, `the key ${opts.keyFile} is not a senior's key in the policy being pinned`, 'policy.not-senior');
  const link: SignedPolicy = { policy, signatures: [signPolicy(policy, signer.name, key)] };
  await appendToChain(ctx, link);
  writeProposal(ctx, link);
  const hash = policyHash(policy);
  await ctx.audit({
    action: 'policy.init',
    command,
    target: '-',
    verdict: 'ok',
    reason: `policy version 1 pinned by ${signer.name} (${hash.slice(0, 12)}): ${policy.members.length} member(s), ${policy.approvals.required} approvals, threshold ${policy.threshold}`,
    details: { policyHash: hash, version: 1, signer: signer.name, signerKey: pub },
  });
  return { policy, hash, signers: [signer.name] };
}

async function requireInForce(ctx: Context): Promise<PolicyInForce> {
  const { inForce, problem } = await policyInForce(ctx);
  if (!inForce) throw new RefusedError(problem!, 'policy.none');
  return inForce;
}

/** The working tree's terms as the next version after the policy in force (null when they are the same). */
export function nextFromWorkingTree(ctx: Context, inForce: PolicyInForce): PolicyDocument | null {
  const terms = termsFromConfig(ctx.loaded.config, ctx.loaded.root);
  if (sameTerms(terms, termsOf(inForce.policy))) return null;
  return { version: inForce.policy.version + 1, previous: inForce.hash, ...terms };
}

/** Writes the working tree's policy as a proposal for the next version. */
export async function proposePolicy(ctx: Context): Promise<{ file: string; policy: PolicyDocument; created: boolean }> {
  const inForce = await requireInForce(ctx);
  const next = nextFromWorkingTree(ctx, inForce);
  if (!next) throw new UsageError(`the working tree's policy is the policy in force (version ${inForce.policy.version}); nothing to propose`, 'policy.same');
  const problems = policyProblems(next);
  if (problems.length) {
    const reason = `the proposed policy is not usable: ${problems.join('; ')}`;
    await ctx.audit({ action: 'policy.propose', command: 'prodguard policy propose', target: '-', verdict: 'refused', reason });
    throw new UsageError(reason, 'policy.invalid');
  }
  const file = proposalFile(ctx, next);
  if (existsSync(file)) return { file, policy: next, created: false };
  writeProposal(ctx, { policy: next, signatures: [] });
  await ctx.audit({ action: 'policy.propose', command: 'prodguard policy propose', target: '-', verdict: 'ok', reason: `policy version ${next.version} proposed (${policyHash(next).slice(0, 12)}), not in force until ${inForce.policy.threshold} senior(s) of version ${inForce.policy.version} sign it`, details: { policyHash: policyHash(next) } });
  return { file, policy: next, created: true };
}

export interface SignResult {
  file: string;
  version: number;
  signers: string[];
  required: number;
  inForce: boolean;
}

/** Adds the key holder's signature to a proposal (default: the working tree's); applies it when the threshold is reached. */
export async function signPolicyProposal(ctx: Context, opts: { keyFile: string; file?: string }): Promise<SignResult> {
  const command = 'prodguard policy sign';
  const inForce = await requireInForce(ctx);
  let file = opts.file ? resolve(opts.file) : null;
  let proposal: SignedPolicy;
  if (file) proposal = readProposal(file);
  else {
    const next = nextFromWorkingTree(ctx, inForce);
    if (!next) throw new UsageError(`the working tree's policy is the policy in force (version ${inForce.policy.version}); nothing to sign`, 'policy.same');
    file = proposalFile(ctx, next);
    proposal = existsSync(file) ? readProposal(file) : { policy: next, signatures: [] };
  }
  const p = proposal.policy;
  const short = policyHash(p).slice(0, 12);
  if (p.version !== inForce.policy.version + 1 || p.previous !== inForce.hash) {
    return refuse(ctx, 'policy.sign', command, `proposal ${short} (version ${p.version}) does not follow the policy in force (version ${inForce.policy.version}, ${inForce.hash.slice(0, 12)}); propose again`, 'policy.stale');
  }
  const problems = policyProblems(p);
  if (problems.length) return refuse(ctx, 'policy.sign', command, `proposal ${short} is not usable: ${problems.join('; ')}`, 'policy.invalid');
  const key = loadPrivateKey(opts.keyFile);
  const pub = formatPublicKey(createPublicKey(key));
  const signer = inForce.policy.members.find((m) => m.publicKey === pub);
  if (!signer) return refuse(ctx, 'policy.sign', command, `the key ${opts.keyFile} belongs to no member of the policy in force (version ${inForce.policy.version})`, 'policy.unknown-key');
  if (signer.role !== 'senior') return refuse(ctx, 'policy.sign', command, `${signer.name} has role ${signer.role} in the policy in force; only seniors sign policy changes`, 'policy.not-senior');
  proposal.signatures = proposal.signatures.filter((s) => s.publicKey !== pub).concat(signPolicy(p, signer.name, key));
  writeProposal(ctx, proposal);
  const s = checkSuccession(inForce.policy, proposal);
  const required = inForce.policy.threshold;
  if (s.ok) {
    await appendToChain(ctx, proposal);
    await ctx.audit({
      action: 'policy.change',
      command,
      target: '-',
      verdict: 'ok',
      reason: `policy version ${p.version} (${short}) is in force, signed by ${s.signers.join(', ')} (${s.signers.length} of ${required} required by version ${inForce.policy.version})`,
      details: { policyHash: policyHash(p), version: p.version, previous: inForce.hash, signers: s.signers, signerKey: pub },
    });
    return { file: file!, version: p.version, signers: s.signers, required, inForce: true };
  }
  const { valid } = validSeniorSigners(p, proposal.signatures, inForce.policy.members);
  await ctx.audit({
    action: 'policy.sign',
    command,
    target: '-',
    verdict: 'ok',
    reason: `${signer.name} signed policy proposal version ${p.version} (${short}): ${valid.length} of ${required} senior signature(s); not in force yet`,
    details: { policyHash: policyHash(p), signerKey: pub },
  });
  return { file: file!, version: p.version, signers: valid, required, inForce: false };
}

export interface PolicyStatus {
  inForce: { version: number; hash: string; signers: string[]; members: Array<{ name: string; role: string }>; approvalsRequired: number; threshold: number; oidc: boolean; environments: string[]; backup: BackupTerms | null; masking: MaskingTerms | null } | null;
  problem: string | null;
  /** "in force" when the working tree matches; else "proposed, not in force". */
  workingTree: 'in force' | 'proposed, not in force' | 'no policy in force';
  proposals: Array<{ file: string; version: number; signatures: number; required: number }>;
}

export async function policyStatus(ctx: Context): Promise<PolicyStatus> {
  const { inForce, problem } = await policyInForce(ctx);
  const proposals: PolicyStatus['proposals'] = [];
  const dir = policyDir(ctx);
  if (inForce && existsSync(dir)) {
    for (const f of readdirSync(dir).filter((n) => n.startsWith(`v${inForce.policy.version + 1}-`) && n.endsWith('.json')).sort()) {
      try {
        const s = readProposal(join(dir, f));
        if (s.policy.previous !== inForce.hash) continue;
        proposals.push({ file: join(dir, f), version: s.policy.version, signatures: validSeniorSigners(s.policy, s.signatures, inForce.policy.members).valid.length, required: inForce.policy.threshold });
      } catch {
        // not a proposal
      }
    }
  }
  return {
    inForce: inForce
      ? {
          version: inForce.policy.version,
          hash: inForce.hash,
          signers: inForce.signers,
          members: inForce.policy.members.map((m) => ({ name: m.name, role: m.role })),
          approvalsRequired: inForce.policy.approvals.required,
          threshold: inForce.policy.threshold,
          oidc: !!inForce.policy.oidc,
          environments: Object.keys(inForce.policy.environments),
          backup: inForce.policy.backup ?? null,
          masking: inForce.policy.masking ?? null,
        }
      : null,
    problem,
    workingTree: !inForce ? 'no policy in force' : nextFromWorkingTree(ctx, inForce) ? 'proposed, not in force' : 'in force',
    proposals,
  };
}
