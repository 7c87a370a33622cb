import type { StatusCheck } from '../types.js';

/** Scorecard checks contributed by the guard layer. */
export const checks: StatusCheck[] = [];
