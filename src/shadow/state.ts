/**
 * What `shadow enable` set up, kept in the state store under the production environment's name:
 * which configured environment is the shadow, the publication and subscription names, the tables
 * published, the schema fingerprint both sides had, and when sequences were last synced. Holds no
 * connection string (those stay in the environments' variables or files).
 */
import type { Context } from '../context.js';
import { RefusedError } from '../errors.js';

export const SHADOW_COLLECTION = 'shadow';

export interface ShadowState {
  environment: string;
  shadowEnv: string;
  publication: string;
  subscription: string;
  schemas: string[];
  /** schema.table, as published. */
  tables: string[];
  /** Tables of the schemas that could not be published, with why (also shown by status). */
  notCovered: Array<{ table: string; reason: string }>;
  enabledAt: string;
  /** Schema fingerprint production and shadow had when they last matched. */
  fingerprint: string | null;
  sequencesSyncedAt: string | null;
  /** The subscription's replication origin id on the shadow ("origin: node N" in its WAL). */
  originId: number | null;
}

export function publicationName(): string {
  return 'prodguard_shadow';
}

/** One subscription per production environment: its name is also the replication slot's on production. */
export function subscriptionName(envName: string): string {
  return `prodguard_shadow_${envName.replace(/[^a-z0-9_]/g, '_')}`;
}

export async function readShadowState(ctx: Context, envName: string): Promise<ShadowState | null> {
  return (await ctx.store()).get<ShadowState>(SHADOW_COLLECTION, envName);
}

export async function requireShadowState(ctx: Context, envName: string): Promise<ShadowState> {
  const s = await readShadowState(ctx, envName);
  if (!s) throw new RefusedError(`no shadow is set up for ${envName}; run \`prodguard shadow enable --env ${envName} --shadow <environment>\` first`, 'shadow.not-enabled');
  return s;
}

export async function writeShadowState(ctx: Context, s: ShadowState): Promise<void> {
  await (await ctx.store()).put(SHADOW_COLLECTION, s.environment, s);
}
