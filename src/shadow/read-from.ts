/**
 * `--read-from <shadow>` for the gateway and `prodguard mcp`: read-only debugging of production
 * on its shadow. The named environment must be the one `shadow enable` recorded as production's
 * shadow — a typo must not silently point "production" reads at some other database — and its
 * connection is what reads go to; judging, auditing and naming stay production's.
 */
import type { Context } from '../context.js';
import { connectionUrl, requireEnvironment } from '../config/connection.js';
import { RefusedError } from '../errors.js';
import { readShadowState } from './state.js';

/** Checks that `shadowEnv` is the recorded shadow of `env` and returns its connection URL. */
export async function shadowReadUrl(ctx: Context, env: string, shadowEnv: string, vars: Record<string, string | undefined> = process.env): Promise<string> {
  requireEnvironment(ctx.loaded, shadowEnv);
  const state = await readShadowState(ctx, env);
  if (!state) throw new RefusedError(`--read-from ${shadowEnv}: no shadow is set up for ${env} (prodguard shadow enable --env ${env} --shadow ${shadowEnv})`, 'shadow.read-from');
  if (state.shadowEnv !== shadowEnv) throw new RefusedError(`--read-from ${shadowEnv}: the recorded shadow of ${env} is ${state.shadowEnv}, not ${shadowEnv}`, 'shadow.read-from');
  return connectionUrl(ctx.loaded, shadowEnv, vars);
}
