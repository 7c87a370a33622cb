import type { StatusCheck } from '../types.js';

/** Scorecard checks contributed by the foundation layer. */
export const checks: StatusCheck[] = [];
