/**
 * `migrate approve <change> --key <file> [--as name]`: signs the change with the approver's
 * ed25519 key and writes the approval file. The approver is the team member whose publicKey
 * matches the key (or --as, which must then match). Refuses — with the same reasons the gate
 * would give — to sign what could not count: a stale change, a non-senior, the author.
 */
import type { Context } from '../context.js';
import { RefusedError, UsageError } from '../errors.js';
import { createPublicKey } from 'node:crypto';
import { envState } from './change.js';
import { loadPrivateKey, formatPublicKey } from './keys.js';
import { evaluateApprovals, isSamePerson, signApproval, writeApproval, type ApprovalFile } from './approvals.js';
import { approvalTermsInForce } from '../policy/terms.js';
import { verifyRequest } from './request-signature.js';
import { findChange } from './records.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { approvalsDir } from './approvals.js';
import { changeHash } from './change.js';
import { gitAuthors } from './git-authors.js';
import type { ChangeRecord } from './records.js';

/** Changes opened elsewhere travel as <approvals dir>/<hash16>.change.json; their hash is re-checked. */
function changeFilesMatching(ctx: Context, ref: string): ChangeRecord[] {
  const dir = approvalsDir(ctx.loaded);
  if (!existsSync(dir)) return [];
  const out: ChangeRecord[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.change.json'))) {
    try {
      const c = JSON.parse(readFileSync(join(dir, f), 'utf8')) as ChangeRecord;
      if (c.hash.startsWith(ref.toLowerCase()) && changeHash(c.environment, c.migrations) === c.hash) out.push(c);
    } catch {
      // not a change file
    }
  }
  return out;
}

export async function resolveChange(ctx: Context, ref: string) {
  if (!/^[0-9a-f]{6,64}$/i.test(ref)) throw new UsageError(`<change> must be a change hash or a prefix of at least 6 hex digits, got "${ref}"`);
  const found = await findChange(ctx, ref);
  if (found.length === 0) found.push(...changeFilesMatching(ctx, ref));
  if (found.length === 0) throw new UsageError(`no requested change matches "${ref}" (open one with prodguard migrate request --env <production>)`, 'migrate.unknown-change');
  if (found.length > 1) throw new UsageError(`"${ref}" matches ${found.length} changes; give more of the hash`, 'migrate.ambiguous-change');
  return found[0];
}

export async function approveChange(ctx: Context, ref: string, opts: { keyFile: string; as?: string }): Promise<{ file: string; approval: ApprovalFile }> {
  const { loaded } = ctx;
  const change = await resolveChange(ctx, ref);
  const key = loadPrivateKey(opts.keyFile);
  const command = `prodguard migrate approve ${change.hash.slice(0, 12)}`;
  const refuse = async (reason: string, code: string): Promise<never> => {
    await ctx.audit({ action: 'migrate.approve', command, target: change.environment, verdict: 'refused', reason, details: { changeHash: change.hash } });
    throw new RefusedError(reason, code);
  };
  // Who may approve is the policy in force's business, never the working tree's prodguard.yaml.
  const { terms, problem } = await approvalTermsInForce(ctx);
  if (!terms) return refuse(problem!, 'approval.no-policy');
  const request = verifyRequest(change, terms);
  if (!request.ok) return refuse(`no valid request: ${request.reason}`, 'approval.no-request');
  const pub = formatPublicKey(createPublicKey(key));
  const byKey = terms.members.find((m) => m.publicKey?.trim() === pub) ?? null;
  let approver: string;
  if (opts.as) {
    const m = terms.members.find((t) => t.name === opts.as);
    if (!m) return refuse(`"${opts.as}" is not in ${terms.source}`, 'approval.not-member');
    if (!m.publicKey || m.publicKey.trim() !== pub) return refuse(`the key ${opts.keyFile} is not ${opts.as}'s (its public key is not the one in ${terms.source})`, 'approval.wrong-key');
    approver = m.name;
  } else {
    if (!byKey) return refuse(`the key ${opts.keyFile} belongs to no team member (not in ${terms.source}; add its public key to team[].publicKey and have the policy change signed)`, 'approval.unknown-key');
    approver = byKey.name;
  }
  const member = terms.members.find((t) => t.name === approver)!;
  if (member.role !== 'senior') return refuse(`approver "${approver}" has role ${member.role}; production changes need role senior`, 'approval.not-senior');
  if (isSamePerson(member, change.author)) return refuse(`self-approval: "${approver}" is the author of the change`, 'approval.self');
  const state = await envState(loaded, change.environment);
  const wrote = gitAuthors(loaded.root, state.pending.map((m) => m.path)).filter((g) => isSamePerson(member, g.email) || isSamePerson(member, g.name));
  if (wrote.length) return refuse(`self-approval: "${approver}" is an author of the change (git history of ${[...new Set(wrote.map((g) => g.file))].join(', ')})`, 'approval.self');
  if (state.change.hash !== change.hash) {
    return refuse(
      `change ${change.hash.slice(0, 12)} is no longer what ${change.environment} would run (now ${state.change.hash.slice(0, 12)}: migration files changed or were applied); request the change again`,
      'approval.stale',
    );
  }
  const approval = signApproval(key, { approver, environment: change.environment, migrations: change.migrations });
  const file = writeApproval(loaded, approval);
  const summary = evaluateApprovals(loaded, state.change, change.author, new Date(), gitAuthors(loaded.root, state.pending.map((m) => m.path)), terms);
  await ctx.audit({
    action: 'migrate.approve',
    command,
    target: change.environment,
    verdict: 'ok',
    // The approver is the member of the policy in force whose key signed this approval (ap-082).
    actor: approver,
    actorSource: 'signature',
    reason: `${approver} approved change ${change.hash.slice(0, 12)} (${summary.validApprovers.length}/${summary.required} valid approvals)`,
    details: { changeHash: change.hash, file, approver, approverKey: pub },
  });
  return { file, approval };
}
