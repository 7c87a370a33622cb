/**
 * The one line `prodguard status` (rule 2) shows for a production environment that has a shadow:
 * shadow PITR with its lag and recoverable window, or what is wrong with it. The schema comparison
 * is left to `shadow status` (it reads both catalogs); replication, lag and the archive are here.
 */
import type { Context } from '../context.js';
import { readShadowState } from './state.js';
import { shadowStatus } from './status.js';

export interface ShadowLine {
  state: 'ok' | 'failing';
  line: string;
  details: Record<string, unknown>;
}

export async function shadowPitrLine(ctx: Context, envName: string): Promise<ShadowLine | null> {
  if (!(await readShadowState(ctx, envName))) return null;
  const s = await shadowStatus(ctx, envName, { drift: false });
  const lag = s.lagSeconds === null ? 'lag unknown' : `lag ${s.lagSeconds.toFixed(1)} s`;
  const details = { shadow: s.shadow, lagSeconds: s.lagSeconds, lagBytes: s.production.lagBytes, earliest: s.window.earliest, latest: s.window.latest };
  if (s.problems.length) return { state: 'failing', line: `${envName}: shadow PITR (${s.shadow}) NOT healthy: ${s.problems.join('; ')}`, details };
  return { state: 'ok', line: `${envName}: shadow PITR (${s.shadow}) window ${s.window.earliest} → ${s.window.latest}, ${lag}`, details };
}
