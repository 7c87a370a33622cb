/**
 * The scorecard behind `prodguard status`: every check from every layer, grouped by the six
 * rules. A rule is as good as its worst check; a rule nobody checks yet is "missing". A check
 * that throws is "failing" with its message — status itself never crashes.
 */
import type { Context } from '../context.js';
import { allChecks } from './checks/index.js';
import { RULES, type CheckResult, type CheckState, type RuleNumber, type StatusCheck } from './types.js';
import { errorMessage } from '../errors.js';

export interface RuleReport {
  rule: RuleNumber;
  title: string;
  state: CheckState;
  reason: string;
  checks: Array<{ id: string; title: string } & CheckResult>;
}

export interface ScorecardResult {
  ok: boolean;
  rules: RuleReport[];
}

const RANK: Record<CheckState, number> = { ok: 0, missing: 1, failing: 2 };

/** A check that has not answered by then is failing: status must always answer. */
export const CHECK_TIMEOUT_MS = 30_000;

async function runCheck(check: StatusCheck, ctx: Context, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ state: 'failing', reason: `check did not answer within ${Math.round(timeoutMs / 1000)} s` }), timeoutMs);
  });
  try {
    return await Promise.race([check.run(ctx), timeout]);
  } catch (err) {
    return { state: 'failing', reason: `check failed: ${errorMessage(err)}` };
  } finally {
    clearTimeout(timer);
  }
}

export async function runScorecard(ctx: Context, checks: StatusCheck[] = allChecks, timeoutMs = CHECK_TIMEOUT_MS): Promise<ScorecardResult> {
  const results = await Promise.all(checks.map(async (c) => ({ check: c, result: await runCheck(c, ctx, timeoutMs) })));
  const rules: RuleReport[] = (Object.keys(RULES).map(Number) as RuleNumber[]).map((rule) => {
    const mine = results.filter((r) => r.check.rule === rule);
    if (mine.length === 0) return { rule, title: RULES[rule], state: 'missing', reason: 'not configured: no check covers this rule yet', checks: [] };
    const worst = mine.reduce((a, b) => (RANK[b.result.state] > RANK[a.result.state] ? b : a));
    const state = worst.result.state;
    const reason = state === 'ok' ? `${mine.length} check(s) ok` : `${worst.check.title}: ${worst.result.reason}`;
    return { rule, title: RULES[rule], state, reason, checks: mine.map((r) => ({ id: r.check.id, title: r.check.title, ...r.result })) };
  });
  return { ok: rules.every((r) => r.state === 'ok'), rules };
}

const MARK: Record<CheckState, string> = { ok: '✓ ok     ', missing: '○ missing', failing: '✗ failing' };

export function formatScorecard(s: ScorecardResult, verbose = true): string {
  const lines: string[] = [];
  for (const r of s.rules) {
    lines.push(`${MARK[r.state]}  rule ${r.rule}: ${r.title} — ${r.reason}`);
    if (verbose) for (const c of r.checks) lines.push(`             ${c.state === 'ok' ? '✓' : c.state === 'missing' ? '○' : '✗'} ${c.title}: ${c.reason}`);
  }
  return lines.join('\n');
}
