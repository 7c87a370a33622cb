/**
 * The policy chain's anchor off the documents table. Every version that comes into force is
 * audited (`policy.init`, `policy.change`, with its version and hash) and a team store keeps that
 * record in its append-only `audit_log` (src/audit/sql/anchor.ts: UPDATE/DELETE/TRUNCATE refused).
 * A developer with plain DML on `prodguard_state.documents` can delete the newest chain links (the
 * previous, laxer policy is back) or delete the whole chain and pin their own; they cannot delete
 * these records. So the chain read is compared with them: a recorded version missing from the chain
 * or with another hash, or a chain head older than the newest recorded version, is a rollback or a
 * rewrite and means no policy in force. Rows forged INTO audit_log (INSERT is allowed) can only add
 * versions the chain lacks, i.e. cause a fail-closed refusal, never bring a version back.
 * SQLite stores have no such table: nothing to compare with (docs/security.md).
 */
import type { PolicyDocument } from './document.js';

export interface RecordedPolicy {
  version: number;
  hash: string;
  action: string;
  time: string;
}

/** Old records (before details.version) name the version only in the reason text. */
function recordedOf(r: unknown): RecordedPolicy | null {
  const rec = r as { action?: string; time?: string; reason?: string; details?: { policyHash?: unknown; version?: unknown } } | null;
  const hash = rec?.details?.policyHash;
  if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) return null;
  const version = typeof rec?.details?.version === 'number' ? rec.details.version : Number(/^policy version (\d+)\b/.exec(rec?.reason ?? '')?.[1]);
  if (!Number.isInteger(version) || version < 1) return null;
  return { version, hash, action: String(rec?.action), time: String(rec?.time ?? '?') };
}

export function recordedPolicies(rows: unknown[]): RecordedPolicy[] {
  return rows.map(recordedOf).filter((r): r is RecordedPolicy => !!r);
}

/** null when the verified chain agrees with every recorded version; else the one-line problem. */
export function anchorProblem(recorded: RecordedPolicy[], chain: PolicyDocument[], hashOf: (p: PolicyDocument) => string): string | null {
  if (recorded.length === 0) return null;
  const byVersion = new Map(chain.map((p) => [p.version, hashOf(p)]));
  const head = chain.length ? chain[chain.length - 1].version : 0;
  const newest = recorded.reduce((a, b) => (b.version > a.version ? b : a));
  const prefix = 'policy chain rolled back or rewritten: the team store\'s append-only audit log records';
  if (head < newest.version) {
    return `${prefix} policy version ${newest.version} (${newest.hash.slice(0, 12)}) in force since ${newest.time}, but the chain ${head ? `ends at version ${head}` : 'is empty'}; restore the missing link(s) from the signed proposal files (.prodguard/policy/v${head + 1}…v${newest.version}-*.json)`;
  }
  for (const r of recorded) {
    const h = byVersion.get(r.version);
    if (h !== r.hash) return `${prefix} policy version ${r.version} as ${r.hash.slice(0, 12)} (${r.action}, ${r.time}), but the chain's version ${r.version} is ${h ? h.slice(0, 12) : 'missing'}`;
  }
  return null;
}
