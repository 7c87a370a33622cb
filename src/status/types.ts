/**
 * `prodguard status` is a scorecard against the six rules in DESIGN.md. Each layer contributes
 * checks for the rules it serves (src/status/checks/<layer>.ts); a rule is as good as its worst check.
 */
import type { Context } from '../context.js';

export type RuleNumber = 1 | 2 | 3 | 4 | 5 | 6;
export type CheckState = 'ok' | 'missing' | 'failing';

export interface CheckResult {
  state: CheckState;
  /** One line a human understands: what is true now, or what to do. */
  reason: string;
  details?: Record<string, unknown>;
}

export interface StatusCheck {
  rule: RuleNumber;
  /** Stable id, e.g. "backup.recent-verified". */
  id: string;
  title: string;
  run(ctx: Context): Promise<CheckResult>;
}

export const RULES: Record<RuleNumber, string> = {
  1: 'Production is never touched directly',
  2: 'Backups are mandatory and proven',
  3: 'Staging comes first',
  4: 'Access is locked down',
  5: 'local → staging → two approvals → CI/CD → verify',
  6: 'Emergencies have a procedure',
};
