/**
 * /metrics in Prometheus text format (prom-client). Values are read from the same records the
 * dashboard shows, at scrape time, so a scrape after a backup sees it. Alert on these (see
 * docs/serve.md and docs/monitoring/): "no verified backup in 26 h" is
 * `time() - prodguard_last_verified_backup_timestamp_seconds > 26*3600`.
 */
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Context } from '../context.js';
import { listJobRuns } from './run-job.js';
import { auditChainStatus } from './http/pages.js';
import { grantIsActive, listGrants } from '../grants/grants.js';
import { DRILLS_COLLECTION } from '../restore/drill-record.js';

export class ServerMetrics {
  readonly registry = new Registry();
  private g = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [this.registry] });
  private lastBackup = this.g('prodguard_last_backup_timestamp_seconds', 'Finish time of the newest complete (not degraded) backup', ['environment']);
  private lastVerified = this.g('prodguard_last_verified_backup_timestamp_seconds', 'Finish time of the newest backup proven by a restore', ['environment']);
  private size = this.g('prodguard_backup_size_bytes', 'Stored size of the newest backup', ['environment']);
  private duration = this.g('prodguard_backup_duration_seconds', 'Duration of the newest backup', ['environment']);
  private verifyOk = this.g('prodguard_backup_verify_ok', '1 if the newest verification of a backup succeeded, 0 if it failed', ['environment']);
  private backups = this.g('prodguard_backups', 'Backups in the catalog', ['environment']);
  private drillOk = this.g('prodguard_drill_ok', '1 if the newest restore drill passed', ['environment']);
  private rto = this.g('prodguard_drill_rto_seconds', 'Restore time measured by the newest passing drill', ['environment']);
  private lastDrill = this.g('prodguard_last_drill_timestamp_seconds', 'Start time of the newest passing drill', ['environment']);
  private blocked = this.g('prodguard_guard_blocked_commands', 'Commands the guard refused or held for a backup (from the audit log)', ['verdict']);
  private chainOk = this.g('prodguard_audit_chain_ok', '1 if the audit log hash chain verifies');
  private auditRecords = this.g('prodguard_audit_records', 'Records in the audit log');
  private jobFailures = this.g('prodguard_job_failures', 'Failed runs among the recent job runs', ['job']);
  private jobLastOk = this.g('prodguard_job_last_success_timestamp_seconds', 'Finish time of the last successful run', ['job']);
  private jobLastResult = this.g('prodguard_job_last_run_ok', '1 if the last run of the job succeeded', ['job']);
  private breakGlass = this.g('prodguard_break_glass_active', 'Open (unexpired, not ended) break-glass grants; expiry judged at scrape time', ['environment']);
  readonly leader = this.g('prodguard_scheduler_leader', '1 if this process is the leader that runs the schedule');

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'prodguard_process_' });
  }

  private async refresh(ctx: Context): Promise<void> {
    const { listBackups } = await import('../backup/index.js');
    const all = await listBackups(ctx);
    for (const g of [this.lastBackup, this.lastVerified, this.size, this.duration, this.verifyOk, this.backups, this.drillOk, this.rto, this.lastDrill, this.blocked, this.jobFailures, this.jobLastOk, this.jobLastResult, this.breakGlass]) g.reset();
    const envs = Object.keys(ctx.loaded.config.environments).filter((e) => ctx.loaded.config.environments[e].kind !== 'local');
    for (const env of envs) {
      const mine = all.filter((m) => m.environment === env);
      this.backups.set({ environment: env }, mine.length);
      const newest = mine.find((m) => !m.degraded);
      if (newest) {
        this.lastBackup.set({ environment: env }, Date.parse(newest.finishedAt) / 1000);
        this.size.set({ environment: env }, newest.objects.reduce((s, o) => s + o.bytes, 0));
        this.duration.set({ environment: env }, (Date.parse(newest.finishedAt) - Date.parse(newest.startedAt)) / 1000);
      }
      const verified = mine.find((m) => m.verified?.ok);
      if (verified) this.lastVerified.set({ environment: env }, Date.parse(verified.finishedAt) / 1000);
      const lastVerify = mine.filter((m) => m.verified).sort((a, b) => Date.parse(b.verified!.at) - Date.parse(a.verified!.at))[0];
      if (lastVerify) this.verifyOk.set({ environment: env }, lastVerify.verified!.ok ? 1 : 0);
    }
    type Drill = import('../restore/drill-record.js').DrillRecord;
    const drills = (await (await ctx.store()).list<Drill>(DRILLS_COLLECTION)).map((d) => d.doc);
    for (const env of new Set(drills.map((d) => d.environment))) {
      const mine = drills.filter((d) => d.environment === env);
      this.drillOk.set({ environment: env }, mine[0].ok ? 1 : 0);
      const good = mine.find((d) => d.ok);
      if (good) {
        this.rto.set({ environment: env }, good.rtoMs / 1000);
        this.lastDrill.set({ environment: env }, Date.parse(good.startedAt) / 1000);
      }
    }
    const now = new Date();
    const open = (await listGrants(await ctx.store())).filter((g) => g.kind === 'break-glass' && grantIsActive(g, now));
    for (const env of new Set([...envs, ...open.map((g) => g.env)])) this.breakGlass.set({ environment: env }, open.filter((g) => g.env === env).length);
    const records = ctx.auditLog.read();
    for (const v of ['deny', 'backup-first']) this.blocked.set({ verdict: v }, records.filter((r) => r.action.startsWith('guard.') && r.verdict === v).length);
    const chain = await auditChainStatus(ctx);
    this.chainOk.set(chain.ok ? 1 : 0);
    this.auditRecords.set(chain.records);
    const runs = await listJobRuns(ctx, { limit: 1000 });
    for (const job of new Set(runs.map((r) => r.job))) {
      const mine = runs.filter((r) => r.job === job && r.result !== 'skipped' && r.result !== 'running');
      this.jobFailures.set({ job }, mine.filter((r) => r.result === 'failed').length);
      if (mine[0]) this.jobLastResult.set({ job }, mine[0].result === 'ok' ? 1 : 0);
      const ok = mine.find((r) => r.result === 'ok');
      if (ok?.finishedAt) this.jobLastOk.set({ job }, Date.parse(ok.finishedAt) / 1000);
    }
  }

  async render(ctx: Context): Promise<string> {
    await this.refresh(ctx);
    return this.registry.metrics();
  }
}
