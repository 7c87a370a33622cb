import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { humanAge } from '../units.js';
import type { StatusCheck } from '../types.js';
import { safe } from './helpers.js';
import { durationMs } from '../../config/duration.js';
import { listJobRuns } from '../../server/run-job.js';
import { SCHEDULE_WORKFLOW_PATH } from '../../server/ci-schedule.js';
import { SCHEDULED_REASON } from '../../server/jobs.js';
import { listBackups } from '../../backup/catalog.js';

// Human durations everywhere (src/status/units.ts): "12 s ago", not "0.0 h ago".
const ago = humanAge;

/** Scorecard checks contributed by the server layer: something must run the schedule. */
export const checks: StatusCheck[] = [
  {
    rule: 2,
    id: 'server.schedule-runs',
    title: 'backups run on a schedule',
    run: safe(async (ctx) => {
      const cfg = ctx.loaded.config;
      const expected = cfg.server.schedule;
      const workflow = join(ctx.loaded.root, SCHEDULE_WORKFLOW_PATH);
      if (expected === 'ci' && !existsSync(workflow)) {
        return { state: 'failing', reason: `server.schedule is ci but ${SCHEDULE_WORKFLOW_PATH} is missing (run \`prodguard init ci --github\`)` };
      }
      const maxAge = durationMs(cfg.backup.maxAge);
      const runs = (await listJobRuns(ctx, { limit: 200 })).filter((r) => r.kind === 'backup' && r.result !== 'skipped');
      // The catalog is synced from the destinations, so a CI runner's scheduled backups show up here too.
      const scheduled = (await listBackups(ctx)).find((m) => m.reason?.startsWith(SCHEDULED_REASON));
      const candidates = [
        ...(runs[0] ? [{ at: runs[0].startedAt, who: `${runs[0].runner.kind === 'serve' ? 'prodguard serve' : runs[0].runner.kind === 'ci' ? 'the scheduled CI workflow' : 'prodguard jobs run'} on ${runs[0].runner.host}`, ok: runs[0].result !== 'failed', what: runs[0].summary }] : []),
        ...(scheduled ? [{ at: scheduled.startedAt, who: /\((.*)\)$/.exec(scheduled.reason!)?.[1] ?? 'a scheduler', ok: true, what: `backup ${scheduled.id}` }] : []),
      ].sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
      const last = candidates[0];
      const runner = expected === 'ci' ? `the scheduled workflow ${SCHEDULE_WORKFLOW_PATH}` : '`prodguard serve` (docs/serve.md)';
      if (!last) return { state: 'missing', reason: `no scheduled backup has run yet; the schedule is meant to be run by ${runner}` };
      const age = Date.now() - Date.parse(last.at);
      const details = { expected, lastRunBy: last.who, lastRunAt: last.at };
      if (!last.ok) return { state: 'failing', reason: `the last scheduled backup by ${last.who} FAILED (${ago(age)}): ${last.what}`, details };
      if (age > maxAge) return { state: 'failing', reason: `the last scheduled backup ran ${ago(age)} (by ${last.who}), longer ago than backup.maxAge ${cfg.backup.maxAge}: is ${runner} still running?`, details };
      return { state: 'ok', reason: `schedule run by ${last.who}; last scheduled backup ${ago(age)}`, details };
    }),
  },
];
