import type { CheckResult } from '../types.js';
import type { Context } from '../../context.js';
import { errorMessage } from '../../errors.js';

/**
 * Wraps a check so an internal error reads "cannot check: …" (the scorecard would otherwise say
 * "check failed: …"); both are failing, never a crash of `status`.
 */
export function safe(fn: (ctx: Context) => Promise<CheckResult>): (ctx: Context) => Promise<CheckResult> {
  return async (ctx) => {
    try {
      return await fn(ctx);
    } catch (err) {
      return { state: 'failing', reason: `cannot check: ${errorMessage(err)}` };
    }
  };
}
