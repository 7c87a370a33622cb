/**
 * Signed approvals. An approval is an ed25519 signature over the canonical JSON of
 * {approver, changeHash, environment, time} (keys sorted). It is stored as a JSON file in
 * config.migrations.approvals.dir (in the repo, so it travels through pull requests) together with
 * the change's migration list, which lets a reader see which file changed when an approval no
 * longer matches. Validity is decided here only — the gate and `status` ask `evaluateApprovals`.
 */
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import type { Member } from '../config/schema.js';
import { durationMs } from '../config/schema.js';
import { UsageError, errorMessage } from '../errors.js';
import { changeHash, type ChangeMigration } from './change.js';
import { formatPublicKey, parsePublicKey } from './keys.js';
import type { GitAuthor } from './git-authors.js';

/** Who may approve and how many must: the policy in force's terms (or, for previews, the config's). */
export interface ApprovalTerms {
  members: Array<Pick<Member, 'name' | 'role' | 'publicKey'> & { email?: string | null }>;
  approvals: { required: number; expireAfter: string };
  /** Shown in reasons: where the team comes from. */
  source: string;
}

export function termsFromLoaded(loaded: LoadedConfig): ApprovalTerms {
  return { members: loaded.config.team, approvals: loaded.config.migrations.approvals, source: "the config's team" };
}

export interface ApprovalPayload {
  approver: string;
  changeHash: string;
  environment: string;
  time: string;
}

export interface ApprovalFile extends ApprovalPayload {
  version: 1;
  migrations: ChangeMigration[];
  /** base64 ed25519 signature over canonicalPayload(). */
  signature: string;
}

export interface ApprovalVerdict {
  file: string;
  approver: string | null;
  valid: boolean;
  /** Why it does not count (absent when valid). */
  reason?: string;
}

export interface ApprovalSummary {
  changeHash: string;
  required: number;
  validApprovers: string[];
  verdicts: ApprovalVerdict[];
  ok: boolean;
}

export function canonicalPayload(p: ApprovalPayload): string {
  return JSON.stringify({ approver: p.approver, changeHash: p.changeHash, environment: p.environment, time: p.time });
}

export function approvalsDir(loaded: LoadedConfig): string {
  return resolve(loaded.root, loaded.config.migrations.approvals.dir);
}

/** Is this actor (a PRODGUARD_ACTOR name, git email "(os user)", …) this team member? */
export function isSamePerson(member: Pick<Member, 'name'> & { email?: string | null }, actor: string): boolean {
  const a = actor.trim().toLowerCase();
  const names = [member.name, member.email].filter((x): x is string => !!x).map((x) => x.toLowerCase());
  return names.some((n) => a === n || a.startsWith(n + ' ') || a === `ci:${n}`);
}

export function signApproval(
  key: KeyObject,
  p: { approver: string; environment: string; migrations: ChangeMigration[]; time?: Date },
): ApprovalFile {
  const payload: ApprovalPayload = {
    approver: p.approver,
    changeHash: changeHash(p.environment, p.migrations),
    environment: p.environment,
    time: (p.time ?? new Date()).toISOString(),
  };
  const signature = sign(null, Buffer.from(canonicalPayload(payload)), key).toString('base64');
  return { version: 1, ...payload, migrations: p.migrations.map((m) => ({ file: m.file, sha256: m.sha256 })), signature };
}

export function writeApproval(loaded: LoadedConfig, a: ApprovalFile): string {
  const dir = approvalsDir(loaded);
  mkdirSync(dir, { recursive: true });
  const safe = a.approver.replace(/[^A-Za-z0-9._@-]/g, '_');
  const file = join(dir, `${a.changeHash.slice(0, 16)}-${safe}.json`);
  writeFileSync(file, JSON.stringify(a, null, 2) + '\n');
  return file;
}

function readApprovalFiles(loaded: LoadedConfig): Array<{ file: string; data: unknown; error?: string }> {
  const dir = approvalsDir(loaded);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.endsWith('.change.json'))
    .sort()
    .map((f) => {
      const file = join(dir, f);
      try {
        return { file, data: JSON.parse(readFileSync(file, 'utf8')) as unknown };
      } catch (err) {
        return { file, data: null, error: `not valid JSON (${errorMessage(err)})` };
      }
    });
}

function shapeProblem(d: unknown): string | null {
  if (!d || typeof d !== 'object') return 'not an approval object';
  const o = d as Record<string, unknown>;
  for (const k of ['approver', 'changeHash', 'environment', 'time', 'signature'] as const) {
    if (typeof o[k] !== 'string' || o[k] === '') return `field ${k} missing`;
  }
  if (!Array.isArray(o.migrations) || o.migrations.some((m) => !m || typeof m.file !== 'string' || typeof m.sha256 !== 'string')) return 'field migrations missing';
  if (Number.isNaN(Date.parse(o.time as string))) return 'field time is not a time';
  return null;
}

/**
 * Judges every approval file against the current change of `environment` (its hash and
 * migrations) and the change's author. Each approval that does not count says why.
 */
export function evaluateApprovals(
  loaded: LoadedConfig,
  change: { environment: string; hash: string; migrations: ChangeMigration[] },
  author: string | null,
  now: Date = new Date(),
  gitAuthors: GitAuthor[] = [],
  terms: ApprovalTerms = termsFromLoaded(loaded),
): ApprovalSummary {
  const cfg = terms.approvals;
  const keysCounted = new Set<string>();
  const expireMs = durationMs(cfg.expireAfter);
  const current = new Map(change.migrations.map((m) => [m.file, m.sha256]));
  const verdicts: ApprovalVerdict[] = [];
  const valid = new Set<string>();
  for (const { file, data, error } of readApprovalFiles(loaded)) {
    const reject = (approver: string | null, reason: string) => verdicts.push({ file, approver, valid: false, reason });
    if (error) {
      reject(null, error);
      continue;
    }
    const problem = shapeProblem(data);
    if (problem) {
      reject(null, `malformed approval: ${problem}`);
      continue;
    }
    const a = data as ApprovalFile;
    if (a.environment !== change.environment) continue; // for another environment: not this change's business
    if (a.changeHash !== change.hash) {
      // Which change is it for? Only approvals sharing a migration with this change are reported.
      const changed = a.migrations.filter((m) => current.has(m.file) && current.get(m.file) !== m.sha256).map((m) => m.file);
      if (changed.length) reject(a.approver, `void: ${changed.join(', ')} changed after the approval (approved change ${a.changeHash.slice(0, 12)}, current change ${change.hash.slice(0, 12)})`);
      else if (a.migrations.some((m) => current.has(m.file))) reject(a.approver, `approves a different set of migrations (change ${a.changeHash.slice(0, 12)}, current ${change.hash.slice(0, 12)})`);
      continue;
    }
    if (changeHash(a.environment, a.migrations) !== a.changeHash) {
      reject(a.approver, 'tampered: the migration list in the file does not give its change hash');
      continue;
    }
    const member = terms.members.find((m) => m.name === a.approver);
    if (!member) {
      reject(a.approver, `approver "${a.approver}" is not in ${terms.source}`);
      continue;
    }
    if (!member.publicKey) {
      reject(a.approver, `approver "${a.approver}" has no publicKey in ${terms.source}`);
      continue;
    }
    let pub: KeyObject;
    try {
      pub = parsePublicKey(member.publicKey);
    } catch (err) {
      reject(a.approver, `approver "${a.approver}" has an unusable publicKey in ${terms.source} (${errorMessage(err)})`);
      continue;
    }
    let sigOk = false;
    try {
      sigOk = verify(null, Buffer.from(canonicalPayload(a)), pub, Buffer.from(a.signature, 'base64'));
    } catch {
      sigOk = false;
    }
    if (!sigOk) {
      reject(a.approver, `invalid signature: not signed by ${a.approver}'s key, or the approval was edited after signing`);
      continue;
    }
    if (member.role !== 'senior') {
      reject(a.approver, `approver "${a.approver}" has role ${member.role}; production changes need role senior`);
      continue;
    }
    if (author && isSamePerson(member, author)) {
      reject(a.approver, `self-approval: "${a.approver}" is the author of the change`);
      continue;
    }
    const wrote = gitAuthors.filter((g) => isSamePerson(member, g.email) || isSamePerson(member, g.name));
    if (wrote.length) {
      reject(a.approver, `self-approval: "${a.approver}" is an author of the change (git history of ${[...new Set(wrote.map((g) => g.file))].join(', ')})`);
      continue;
    }
    const age = now.getTime() - Date.parse(a.time);
    if (age > expireMs) {
      reject(a.approver, `expired: signed ${a.time}, approvals expire after ${cfg.expireAfter}`);
      continue;
    }
    if (age < -5 * 60_000) {
      reject(a.approver, `signed in the future (${a.time})`);
      continue;
    }
    if (valid.has(a.approver)) {
      reject(a.approver, `duplicate: "${a.approver}" already approved this change; one approval per person counts`);
      continue;
    }
    // One key, one vote: a key listed under two names never counts twice.
    if (keysCounted.has(member.publicKey.trim())) {
      reject(a.approver, `duplicate key: "${a.approver}"'s public key already approved this change under another name`);
      continue;
    }
    keysCounted.add(member.publicKey.trim());
    valid.add(a.approver);
    verdicts.push({ file, approver: a.approver, valid: true });
  }
  const validApprovers = [...valid];
  return { changeHash: change.hash, required: cfg.required, validApprovers, verdicts, ok: validApprovers.length >= cfg.required };
}
