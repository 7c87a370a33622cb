/** `migrate plan`: what would run on an environment, its lint findings and risk, and where it stands. */
import type { Context } from '../context.js';
import { envState, requireEnv, type EnvState } from './change.js';
import { lintChange, type ChangeLint } from './lint-change.js';
import { evaluateGate, type GateResult } from './gate.js';

export interface Plan {
  state: EnvState;
  lint: ChangeLint;
  /** For production environments: the deploy gate as it stands now. */
  gate: GateResult | null;
}

export async function planChange(ctx: Context, env: string): Promise<Plan> {
  requireEnv(ctx.loaded, env);
  const state = await envState(ctx.loaded, env);
  const lint = await lintChange(state.pending);
  const gate = ctx.loaded.config.environments[env].kind === 'production' && state.pending.length ? await evaluateGate(ctx, state) : null;
  return { state, lint, gate };
}
