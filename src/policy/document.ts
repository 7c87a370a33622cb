/**
 * The security policy: who may approve (members, their keys and roles), how many approvals a
 * production change needs and how long they last, how many senior signatures change the policy,
 * which CI identity may deploy (OIDC claims) and which databases the environments really are.
 *
 * It is built from the working tree's prodguard.yaml, but a working-tree copy is only a proposal:
 * what counts is the *policy in force* (chain.ts), pinned once and changed only by signatures of
 * seniors of the policy in force. Canonical JSON (sorted keys) makes its hash independent of key
 * order, so every signer signs the same bytes.
 */
import { createHash } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { parsePublicKey } from '../migrate/keys.js';
import { errorMessage } from '../errors.js';
import { backupTermsFromConfig, type BackupTerms } from './backup-terms.js';
import { maskingTermsFromRules, type MaskingTerms } from './masking-terms.js';
import type { MaskRule } from '../migrate/masking.js';

export interface PolicyMember {
  name: string;
  email: string | null;
  role: 'senior' | 'developer';
  publicKey: string | null;
}

/** Claims a deploy's OIDC token must carry (absent fields are not checked). */
export interface OidcPolicy {
  provider: 'github' | 'gitlab';
  issuer: string;
  audience: string;
  /** GitHub `repository` / GitLab `project_path`. */
  repository: string;
  /** e.g. refs/heads/main (GitHub) or main (GitLab, which must also be protected). */
  ref: string;
  environment: string;
  /** GitHub workflow path, e.g. acme/app/.github/workflows/prodguard.yml; `job_workflow_ref` must be it @ `ref` (or exactly it when it carries its own @ref). */
  workflow?: string;
  /** GitHub `repository_id` / `repository_owner_id` (immutable, unlike the names), checked when set. */
  repositoryId?: string;
  repositoryOwnerId?: string;
}

/** An enrolled database: what `env enroll` read from it. */
export interface EnvironmentIdentity {
  kind: 'local' | 'staging' | 'production';
  /** Random id written into prodguard.environment_identity at enrolment. */
  envId: string;
  /** pg_control_system().system_identifier of the server. */
  systemIdentifier: string;
  database: string;
}

export interface PolicyTerms {
  project: string;
  members: PolicyMember[];
  approvals: { required: number; expireAfter: string };
  /** Senior signatures (of the policy in force) needed to change the policy. */
  threshold: number;
  /** Actor name deploys are recorded under besides their proved OIDC subject. */
  deployIdentity: string;
  oidc: OidcPolicy | null;
  environments: Record<string, EnvironmentIdentity>;
  /** Public key that signs audit checkpoints (the CI/serve identity's). */
  checkpointKey: string | null;
  /**
   * Where production's backups may go and to whom they are encrypted (backup-terms.ts). Absent in
   * policies signed before it existed: such a policy authorises no destination.
   */
  backup?: BackupTerms;
  /**
   * Which columns a staging refreshed from production may hold unmasked or partly masked, and
   * which it must mask (masking-terms.ts). Absent in policies signed before it existed: such a
   * policy lets no column be kept or partly masked.
   */
  masking?: MaskingTerms;
}

export interface PolicyDocument extends PolicyTerms {
  version: number;
  /** Hash of the policy this one replaces (null for the first, pinned policy). */
  previous: string | null;
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']';
  if (value && typeof value === 'object') {
    return '{' + Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => JSON.stringify(k) + ':' + canonicalJson((value as Record<string, unknown>)[k])).join(',') + '}';
  }
  return JSON.stringify(value);
}

export function policyHash(p: PolicyDocument): string {
  return createHash('sha256').update(canonicalJson(p)).digest('hex');
}

/** The policy terms the working tree's config describes. */
/** `root`: the directory of the prodguard.yaml in use (local backup destinations are pinned by absolute path). */
export function termsFromConfig(config: Config, root?: string): PolicyTerms {
  const pol = config.policy;
  return {
    project: config.project.name,
    members: config.team.map((m) => ({ name: m.name, email: m.email ?? null, role: m.role, publicKey: m.publicKey?.trim() ?? null })),
    approvals: { required: config.migrations.approvals.required, expireAfter: config.migrations.approvals.expireAfter },
    threshold: pol.threshold,
    deployIdentity: config.migrations.deployIdentity,
    oidc: pol.oidc ?? null,
    environments: Object.fromEntries(Object.entries(pol.environments).map(([k, v]) => [k, { ...v }])),
    checkpointKey: pol.checkpointKey?.trim() ?? null,
    backup: backupTermsFromConfig(config, root),
    masking: maskingTermsFromRules(config.staging.masking as MaskRule[]),
  };
}

/** The terms of a document (without version/previous), for comparing with the working tree. */
export function termsOf(p: PolicyDocument): PolicyTerms {
  const { version: _v, previous: _p, ...terms } = p;
  return terms;
}

export function sameTerms(a: PolicyTerms, b: PolicyTerms): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/**
 * Problems that make a policy unusable. The same key or e-mail under two names would let one
 * person count twice, so it is refused outright rather than deduplicated.
 */
export function policyProblems(t: PolicyTerms): string[] {
  const out: string[] = [];
  const seen = { name: new Map<string, string>(), email: new Map<string, string>(), key: new Map<string, string>() };
  for (const m of t.members) {
    const n = m.name.toLowerCase();
    if (seen.name.has(n)) out.push(`member name "${m.name}" appears twice`);
    seen.name.set(n, m.name);
    if (m.email) {
      const e = m.email.trim().toLowerCase();
      const other = seen.email.get(e);
      if (other) out.push(`the same e-mail ${m.email} is listed under two names ("${other}" and "${m.name}")`);
      seen.email.set(e, m.name);
    }
    if (m.publicKey) {
      try {
        parsePublicKey(m.publicKey);
      } catch (err) {
        out.push(`member "${m.name}" has an unusable publicKey (${errorMessage(err)})`);
        continue;
      }
      const other = seen.key.get(m.publicKey);
      if (other) out.push(`the same public key is listed under two names ("${other}" and "${m.name}")`);
      seen.key.set(m.publicKey, m.name);
    }
  }
  const seniors = t.members.filter((m) => m.role === 'senior' && m.publicKey);
  if (seniors.length < t.threshold) out.push(`policy threshold ${t.threshold} needs at least ${t.threshold} seniors with public keys (has ${seniors.length})`);
  if (t.threshold < 1) out.push('policy threshold must be at least 1');
  if (t.approvals.required < 1) out.push('approvals.required must be at least 1');
  return out;
}
