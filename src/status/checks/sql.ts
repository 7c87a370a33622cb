import type { StatusCheck } from '../types.js';

/** Scorecard checks contributed by the sql layer. */
export const checks: StatusCheck[] = [];
