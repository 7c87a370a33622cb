import type { Command } from 'commander';
import { withContext, cliContext, untilStopped } from './common.js';
import { audited, auditedAction } from './audited.js';
import { emit, note, table } from './output.js';
import { RefusedError, UsageError } from '../errors.js';
import { forceOption, intOption, jsonOption, portOption } from './options.js';

/** `prodguard serve` (scheduler + dashboard + metrics) and `prodguard jobs` (the same jobs by hand or from CI). */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the schedule (backups, verify, drills, retention, drift, PITR) and serve the dashboard, /metrics, /healthz')
    .option('--host <host>', 'address to bind (default: server.host, 127.0.0.1)')
    .addOption(portOption('port (default: server.port, 7707; 0 picks a free one)', true))
    .option('--no-scheduler', 'dashboard only: run no jobs')
    .option('--hash-password', 'read a password on stdin, print its hash for server.auth.users, and exit')
    .action(async (opts: { host?: string; port?: number; scheduler: boolean; hashPassword?: boolean }, cmd: Command) => {
      if (opts.hashPassword) {
        const { hashPassword } = await import('../server/http/auth.js');
        const chunks: Buffer[] = [];
        for await (const c of process.stdin) chunks.push(c as Buffer);
        const pw = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
        if (pw.length < 10) throw new UsageError('password too short (at least 10 characters)', 'serve.weak-password');
        process.stdout.write(hashPassword(pw) + '\n');
        return;
      }
      const { startServe } = await import('../server/serve.js');
      const ctx = await cliContext(cmd);
      const h = await startServe(ctx, { host: opts.host, port: opts.port, noScheduler: !opts.scheduler });
      note(`prodguard serve: dashboard at ${h.url}${h.tokenFile ? ` (access token in ${h.tokenFile})` : ''}`);
      note(`prodguard serve: ${h.scheduler ? `${h.scheduler.jobs.length} job(s) scheduled: ${h.scheduler.jobs.map((j) => j.id).join(', ') || 'none'}` : 'scheduler off'}`);
      await untilStopped();
      note('prodguard serve: stopping (waiting for running jobs)');
      await audited(ctx, { action: 'serve.stop', outcome: () => ({ reason: 'stopped by signal' }) }, () => h.stop());
      await ctx.close();
    });

  const jobs = program.command('jobs').description('the scheduled jobs: list them, run one now (what a scheduled CI workflow calls), see past runs');

  jobs
    .command('list')
    .description('the jobs the config schedules, with their next run')
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { scheduledJobs } = await import('../server/jobs.js');
      const { Cron } = await import('croner');
      await withContext(cmd, async (ctx) => {
        const tz = ctx.loaded.config.schedules.timezone;
        const list = (await scheduledJobs(ctx)).map((j) => ({ id: j.id, kind: j.kind, env: j.env ?? null, cron: j.cron, next: new Cron(j.cron, { paused: true, timezone: tz }).nextRun()?.toISOString() ?? null }));
        emit(opts, { timezone: tz ?? 'local', jobs: list }, () => table(['job', 'cron', 'next run'], list.map((j) => [j.id, j.cron, j.next ?? '-'])));
      });
    });

  jobs
    .command('run')
    .description('run one scheduled job now, recorded and audited like a scheduled run (e.g. backup:production)')
    .argument('<job>', 'job id (see `prodguard jobs list`) or kind when unique')
    .addOption(jsonOption())
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      const { scheduledJobs, findJob } = await import('../server/jobs.js');
      const { runJob, currentRunner } = await import('../server/run-job.js');
      await withContext(cmd, async (ctx) => {
        const all = await scheduledJobs(ctx);
        const job = findJob(all, name);
        if (!job) throw new UsageError(`unknown job "${name}"; scheduled: ${all.map((j) => j.id).join(', ')}`, 'jobs.unknown');
        const ci = process.env.GITHUB_ACTIONS === 'true' || process.env.GITLAB_CI === 'true';
        const run = await runJob(ctx, job, { slot: new Date(), runner: currentRunner(ci ? 'ci' : 'cli') });
        emit(opts, run, () => `${run.job}: ${run.result} — ${run.summary}`);
        if (run.result !== 'ok') throw new RefusedError(`job ${run.job} failed: ${run.summary}`, 'jobs.failed');
      });
    });

  jobs
    .command('runs')
    .description('recent job runs, newest first')
    .option('--job <id>', 'only this job')
    .addOption(intOption('--limit <n>', 'how many', { min: 1 }, 20))
    .addOption(jsonOption())
    .action(async (opts: { job?: string; limit: number; json?: boolean }, cmd: Command) => {
      const { listJobRuns } = await import('../server/run-job.js');
      await withContext(cmd, async (ctx) => {
        const runs = await listJobRuns(ctx, { job: opts.job, limit: opts.limit });
        emit(opts, runs, () => (runs.length ? table(['started', 'job', 'result', 'by', 'summary'], runs.map((r) => [r.startedAt.slice(0, 19).replace('T', ' '), r.job, r.result + (r.catchUp ? ' (catch-up)' : ''), `${r.runner.kind}@${r.runner.host}`, r.summary.slice(0, 80)])) : 'no job runs yet'));
      });
    });

  jobs
    .command('workflow')
    .description('write .github/workflows/prodguard-schedule.yml (same as `prodguard init ci --github`, the documented entry point)')
    .requiredOption('--github', 'GitHub Actions (the only CI supported so far)')
    .addOption(forceOption('workflow'))
    .addOption(jsonOption())
    .action((opts: { force?: boolean; json?: boolean }, cmd: Command) => writeScheduleWorkflowCommand(opts, cmd));
}

/** `jobs workflow --github` and `init ci --github` both land here: one generator, one audit record. */
export async function writeScheduleWorkflowCommand(opts: { force?: boolean; json?: boolean }, cmd: Command): Promise<void> {
  const { writeScheduleWorkflow } = await import('../server/ci-schedule.js');
  const file = await auditedAction(cmd, { action: 'jobs.workflow', outcome: (file: string) => ({ reason: `wrote ${file}` }) }, async (ctx) => writeScheduleWorkflow(ctx.loaded, { force: opts.force }));
  emit(opts, { file }, () => `wrote ${file}\nnext: add the listed secrets to the repository and set server.schedule: ci in prodguard.yaml`);
}
