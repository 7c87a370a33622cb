import type { StatusCheck } from '../types.js';

/** Scorecard checks contributed by the backup layer. */
export const checks: StatusCheck[] = [];
