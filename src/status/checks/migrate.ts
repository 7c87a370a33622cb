import type { StatusCheck } from '../types.js';

/** Scorecard checks contributed by the migrate layer. */
export const checks: StatusCheck[] = [];
