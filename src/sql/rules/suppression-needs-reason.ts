import type { LintRule } from './types.js';

/** Reported by the linter itself while reading suppression comments (see lint.ts). */
export const rule: LintRule = {
  id: 'suppression-needs-reason',
  severity: 'error',
  title: 'Suppression without a reason, or for an unknown rule',
  explanation:
    'A `-- prodguard-ignore <rule-id>: <reason>` comment must name a known rule and give a reason: the reason is what reviewers and the audit log see when the migration is deployed. A suppression without one does not suppress anything and is itself an error.',
  examples: {
    bad: ['-- prodguard-ignore ban-drop-table\nDROP TABLE old_orders;', '-- prodguard-ignore no-such-rule: because\nSELECT 1;'],
    good: ['-- prodguard-ignore ban-drop-table: replaced by orders_v2 in 2024, backup 2024-06-01 verified\nDROP TABLE old_orders;'],
  },
};
