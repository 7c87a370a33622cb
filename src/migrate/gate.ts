/**
 * The production deploy gate. Every condition is evaluated (none short-circuits the others) so
 * a refusal lists everything that is missing:
 *   policy    — a policy is in force (pinned, signed: src/policy/); the working tree's
 *               prodguard.yaml is never what approvals are judged by;
 *   ci        — an OIDC token signed by the CI platform, verified against the issuer's keys, with
 *               the claims the policy in force pins (policy/oidc.ts); CI=true proves nothing;
 *   identity  — the database reached as production is the one the policy in force enrolled;
 *   staging   — every migration of the change is in the migration history of an enrolled staging
 *               database with the same content (staging-evidence.ts), not a local row;
 *   request   — the change was opened with `migrate request` (so its author is known);
 *   approvals — enough valid signed approvals (see approvals.ts for what voids one);
 *   lint      — no unsuppressed lint errors.
 * The fresh verified pre-migration backup is the deploy's next step, after the gate.
 */
import type { Context } from '../context.js';
import { currentActor, isCi } from '../audit/actor.js';
import type { EnvState } from './change.js';
import { evaluateApprovals, type ApprovalSummary } from './approvals.js';
import { lintChange, type ChangeLint } from './lint-change.js';
import { stagingEvidence } from './staging-evidence.js';
import { connectionUrl } from '../config/connection.js';
import { judgeReached, readFactsAt } from '../policy/environment-identity.js';
import { errorMessage } from '../errors.js';
import { changeRecord } from './request.js';
import { verifyRequest } from './request-signature.js';
import { gitAuthors } from './git-authors.js';
import { approvalTermsInForce } from '../policy/terms.js';
import { nextFromWorkingTree } from '../policy/rotate.js';
import { productionPinRefusal } from '../policy/production-pin.js';
import { proveCiIdentity, type CiIdentity } from '../policy/oidc.js';

export interface GateCheck {
  name: 'policy' | 'ci' | 'identity' | 'staging' | 'request' | 'approvals' | 'lint';
  ok: boolean;
  detail: string;
}

export interface GateResult {
  ok: boolean;
  checks: GateCheck[];
  approvals: ApprovalSummary;
  lint: ChangeLint;
  author: string | null;
  /** The policy in force the gate judged by (null when there is none). */
  policy: { version: number; hash: string } | null;
  /** The CI identity the platform's token proved (null when not proved). */
  identity: CiIdentity | null;
}

export function deployIdentityOk(identity: string, env: Record<string, string | undefined> = process.env): { ok: boolean; detail: string } {
  const actor = currentActor(env);
  if (!isCi(env)) return { ok: false, detail: `not running in CI (CI=true is not set; actor ${actor}): production deploys run only from the CI pipeline` };
  const ok = actor === identity || (identity === 'ci' && actor.startsWith('ci:'));
  return ok ? { ok, detail: `CI run as ${actor}` } : { ok, detail: `actor "${actor}" is not the deploy identity "${identity}"` };
}

async function productionIdentity(loaded: Context['loaded'], env: string, pinned: Parameters<typeof judgeReached>[2], havePolicy: boolean): Promise<GateCheck> {
  if (!havePolicy) return { name: 'identity', ok: false, detail: 'no policy in force, so no enrolled production identity' };
  if (!pinned[env]) return { name: 'identity', ok: false, detail: `${env} is not enrolled in the policy in force (prodguard env enroll --env ${env}, then sign the policy)` };
  try {
    const v = judgeReached(env, await readFactsAt(connectionUrl(loaded, env)), pinned);
    return v.ok ? { name: 'identity', ok: true, detail: `the database reached is the enrolled ${env}` } : { name: 'identity', ok: false, detail: v.reason };
  } catch (err) {
    return { name: 'identity', ok: false, detail: `cannot read ${env}'s identity: ${errorMessage(err)}` };
  }
}

export async function evaluateGate(ctx: Context, state: EnvState): Promise<GateResult> {
  const { loaded } = ctx;
  const checks: GateCheck[] = [];
  const { terms: termsFound, inForce: inForceFound, problem: chainProblem } = await approvalTermsInForce(ctx);
  // Production remembers the policy it last deployed under; a replaced chain is no policy at all.
  const pinMismatch = inForceFound ? await productionPinRefusal(ctx, connectionUrl(loaded, state.environment)) : null;
  const inForce = pinMismatch ? null : inForceFound;
  const terms = pinMismatch ? null : termsFound;
  const problem = pinMismatch ?? chainProblem;
  checks.push({
    name: 'policy',
    ok: !!inForce,
    detail: inForce
      ? `policy version ${inForce.policy.version} (${inForce.hash.slice(0, 12)}) in force` +
        (nextFromWorkingTree(ctx, inForce) ? "; the working tree's prodguard.yaml policy differs: proposed, not in force (ignored)" : '')
      : problem!,
  });
  const ci = await proveCiIdentity(inForce ? inForce.policy.oidc : null);
  checks.push({ name: 'ci', ok: ci.ok, detail: inForce ? ci.detail : 'no policy in force, so no CI identity to prove' });

  const pinned = inForce?.policy.environments ?? {};
  checks.push(await productionIdentity(loaded, state.environment, pinned, !!inForce));

  const evidence = await stagingEvidence(loaded, state.pending, pinned);
  const notPassed = state.pending.filter((m) => !evidence.passed.has(`${m.file}@${m.sha256}`)).map((m) => m.file);
  checks.push({
    name: 'staging',
    ok: notPassed.length === 0,
    detail:
      (notPassed.length === 0
        ? `all ${state.pending.length} migration(s) are in the migration history of enrolled staging ${evidence.read.join(', ')} with the same content`
        : `never passed on staging with this content: ${notPassed.join(', ')} (run prodguard migrate apply --env <staging>)`) +
      (evidence.problems.length ? `; ${evidence.problems.join('; ')}` : ''),
  });

  const record = await changeRecord(ctx, state.change.hash);
  const requestOk = !!record && !!terms && verifyRequest(record, terms).ok;
  checks.push({
    name: 'request',
    ok: requestOk,
    detail: !record
      ? `change ${state.change.hash.slice(0, 12)} was never requested (prodguard migrate request --env ${state.environment} --key <file>)`
      : !terms
        ? 'no policy in force to check the request\'s signature against'
        : requestOk
          ? `requested by ${record.author} at ${record.requestedAt} (signature verified)`
          : (verifyRequest(record, terms) as { reason: string }).reason,
  });

  const approvals = evaluateApprovals(
    loaded,
    state.change,
    record?.author ?? null,
    new Date(),
    gitAuthors(loaded.root, state.pending.map((m) => m.path)),
    terms ?? { members: [], approvals: loaded.config.migrations.approvals, source: 'the policy in force (there is none)' },
  );
  const rejected = approvals.verdicts.filter((v) => !v.valid).map((v) => `${v.approver ?? v.file}: ${v.reason}`);
  checks.push({
    name: 'approvals',
    ok: approvals.ok && requestOk,
    detail:
      `${approvals.validApprovers.length} of ${approvals.required} required valid approvals` +
      (approvals.validApprovers.length ? ` (${approvals.validApprovers.join(', ')})` : '') +
      (rejected.length ? `; not counted: ${rejected.join('; ')}` : ''),
  });

  const lint = await lintChange(state.pending);
  checks.push({
    name: 'lint',
    ok: lint.errors.length === 0,
    detail: lint.errors.length === 0
      ? `no unsuppressed lint errors${lint.suppressed.length ? ` (${lint.suppressed.length} suppressed)` : ''}`
      : `${lint.errors.length} lint error(s): ${lint.errors.map((e) => `${e.file}:${e.line} ${e.ruleId}`).join(', ')}`,
  });
  return { ok: checks.every((c) => c.ok), checks, approvals, lint, author: record?.author ?? null, policy: inForce ? { version: inForce.policy.version, hash: inForce.hash } : null, identity: ci.identity };
}
