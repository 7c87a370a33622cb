import type { StatusCheck } from '../types.js';
import { safe } from './helpers.js';
import { buildRunbook, runbookProblems } from '../../emergency/runbook.js';
import { listNotifyFailures } from '../../notify/failures.js';

/** Rule 6: a complete runbook (contacts reachable 24/7, a communication plan) and no lost alarms. */
export const checks: StatusCheck[] = [
  {
    rule: 6,
    id: 'emergency.runbook',
    title: 'runbook has 24/7 contacts and a communication plan',
    run: safe(async (ctx) => {
      const rb = await buildRunbook(ctx);
      const problems = runbookProblems(rb);
      if (problems.length) return { state: rb.contacts.length === 0 && !rb.communication.configured ? 'missing' : 'failing', reason: `${problems.join('; ')}; see prodguard runbook` };
      return { state: 'ok', reason: `${rb.contacts.length} contact(s) in order, communication plan present` };
    }),
  },
  {
    rule: 6,
    id: 'emergency.notifications',
    title: 'notifications delivered (no failed alarm in the last 7 days)',
    run: safe(async (ctx) => {
      const hooks = [...ctx.loaded.config.notifications.webhooks, ...(ctx.loaded.config.notifications.email ? [ctx.loaded.config.notifications.email] : [])];
      if (hooks.length === 0) return { state: 'missing', reason: 'no notification channel configured (notifications.webhooks): failures show only in exit codes' };
      const failed = await listNotifyFailures(await ctx.store(), { since: new Date(Date.now() - 7 * 86_400_000) });
      if (failed.length) {
        const f = failed[0];
        return { state: 'failing', reason: `${failed.length} notification(s) failed in the last 7 days; latest: ${f.event} to ${f.channel} at ${f.at} after ${f.attempts} attempt(s): ${f.error}`, details: { failures: failed.slice(0, 20) } };
      }
      return { state: 'ok', reason: `${hooks.length} channel(s), no failed delivery in the last 7 days` };
    }),
  },
];
