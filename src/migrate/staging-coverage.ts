/**
 * `prodguard staging plan`: which columns of staging look like personal data and how
 * config.staging.masking covers each (masked by a rule, through a foreign key, kept with a
 * reason, or uncovered — a refresh refuses while any is uncovered), and which kept or partly
 * masked columns the policy in force does not sign (a refresh refuses those too). Reads staging's schema and a
 * sample of its rows; the same detection runs on the private copy of production during refresh.
 */
import type { Context } from '../context.js';
import { connectionUrl } from '../config/connection.js';
import { withClient } from '../pg/client.js';
import { envOfKind } from './change.js';
import { coverage, type Coverage } from './pii-detect.js';
import type { MaskRule } from './masking.js';
import { readPolicyChain } from '../policy/chain.js';
import { unsignedMasking } from '../policy/masking-terms.js';

export interface CoverageReport extends Coverage {
  environment: string;
  rules: number;
  /** Columns the rules keep or partly mask without the policy in force's signature (w5c-044): a refresh refuses. */
  unsigned: string[];
  /** False when a refresh would refuse (uncovered columns, unsigned kept/partial columns, or no rules). */
  ok: boolean;
}

export async function stagingCoverage(ctx: Context, env?: string): Promise<CoverageReport> {
  const staging = envOfKind(ctx.loaded, 'staging', env);
  const rules = ctx.loaded.config.staging.masking as MaskRule[];
  const cov = await withClient(connectionUrl(ctx.loaded, staging), (c) => coverage(c, rules));
  const chain = await readPolicyChain(ctx);
  const unsigned = chain.ok ? unsignedMasking(chain.inForce?.policy.masking, rules) : [`no policy in force (${chain.problem}): a refresh refuses`];
  return { environment: staging, rules: rules.length, unsigned, ok: rules.length > 0 && cov.uncovered.length === 0 && unsigned.length === 0, ...cov };
}

export function coverageLines(r: CoverageReport): string[] {
  const lines = [`${r.environment}: ${r.detected.length} column(s) look like personal data; ${r.masked.length} masked, ${r.kept.length} kept, ${r.uncovered.length} uncovered`];
  if (!r.rules) lines.push('  staging.masking is empty: a refresh refuses');
  for (const m of r.masked) lines.push(`  masked  ${m.schema}.${m.table}.${m.column}: ${m.strategy}${m.paths ? ` at ${m.paths.join(', ')}` : ''}${m.via ? ` (references ${m.via})` : ''}`);
  for (const k of r.kept) lines.push(`  kept    ${k.schema}.${k.table}.${k.column}: ${k.reason}`);
  for (const u of r.uncovered) lines.push(`  MISSING ${u.schema}.${u.table}.${u.column} (${u.type}): ${u.reasons.join('; ')}`);
  for (const u of r.unsigned) lines.push(`  UNSIGNED ${u}: the policy in force must sign it (prodguard policy propose, policy sign)`);
  return lines;
}
