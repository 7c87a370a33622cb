import type { StatusCheck } from '../types.js';

/** Scorecard checks contributed by the recovery layer. */
export const checks: StatusCheck[] = [];
