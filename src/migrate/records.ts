/** The migrate layer's documents in the state store. */
import type { Context } from '../context.js';
import type { ChangeMigration } from './change.js';

export const CHANGES = 'migrate-changes';
export const STAGING_PASSES = 'staging-passes';
export const DEPLOYS = 'migrate-deploys';
export const STAGING_REFRESHES = 'staging-refreshes';

/** A change opened for production approval by `migrate request`. */
export interface ChangeRecord {
  hash: string;
  environment: string;
  author: string;
  requestedAt: string;
  migrations: ChangeMigration[];
  /** The requester's public key and ed25519 signature (request-signature.ts); absent: no valid request. */
  publicKey?: string;
  signature?: string;
}

/** A set of migrations that applied cleanly on a staging environment. */
export interface StagingPass {
  environment: string;
  /** Hash over the migrations applied in this run (as a change against staging). */
  changeHash: string;
  migrations: ChangeMigration[];
  actor: string;
  at: string;
  /** Fingerprint of staging's normalised schema after the apply. */
  schemaFingerprint: string;
}

export interface DeployRecord {
  changeHash: string;
  environment: string;
  actor: string;
  at: string;
  backupId: string | null;
  migrations: ChangeMigration[];
  approvers: string[];
  outcome: 'deployed' | 'failed' | 'refused';
  error?: string;
  verified?: { ok: boolean; at: string; differences: number; healthFailures: number };
}

export interface StagingRefreshRecord {
  environment: string;
  from: string;
  backupId: string;
  backupCreatedAt: string;
  at: string;
  maskedColumns: number;
}

export async function getChange(ctx: Context, hash: string): Promise<ChangeRecord | null> {
  return (await ctx.store()).get<ChangeRecord>(CHANGES, hash);
}

/** Finds a requested change by hash or unique hash prefix. */
export async function findChange(ctx: Context, prefix: string): Promise<ChangeRecord[]> {
  const all = await (await ctx.store()).list<ChangeRecord>(CHANGES);
  return all.map((d) => d.doc).filter((c) => c.hash.startsWith(prefix.toLowerCase()));
}
