/**
 * The jobs `serve` (and the scheduled CI workflow, via `prodguard jobs run`) runs, built from the
 * config's `schedules`. Each job calls the layer's own entry point — the same code a person runs
 * at the CLI — so a scheduled backup is exactly a `backup create`, audited by the layer itself.
 */
import type { Context } from '../context.js';
import { RefusedError } from '../errors.js';
import type { JobSpec, Runner } from './job-types.js';
import { createBaseBackup } from '../restore/pitr/base-backup.js';
import { STATE_COLLECTION } from '../restore/pitr/enable.js';
import { tryConnectionUrl } from '../config/connection.js';
import { readMigrations } from '../migrate/files.js';
import { shadowJobs } from '../shadow/jobs.js';

export const SCHEDULED_REASON = 'scheduled backup';

export function scheduledReason(runner: Runner): string {
  return `${SCHEDULED_REASON} (${runner.kind === 'serve' ? 'prodguard serve' : runner.kind === 'ci' ? 'scheduled CI workflow' : 'prodguard jobs run'} on ${runner.host})`;
}

function productionEnvs(ctx: Context): string[] {
  return Object.entries(ctx.loaded.config.environments).filter(([, e]) => e.kind === 'production').map(([n]) => n);
}

function bytesOf(objects: Array<{ bytes: number }>): string {
  const n = objects.reduce((s, o) => s + o.bytes, 0);
  return n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

export function backupJob(env: string, cron: string): JobSpec {
  return {
    id: `backup:${env}`, kind: 'backup', env, cron,
    async run(ctx, log, runner) {
      const { createBackup } = await import('../backup/index.js');
      // The reason travels in the manifest: `status` tells from the catalog who runs the schedule.
      const r = await createBackup(ctx, { env, reason: scheduledReason(runner), onPhase: (p) => log(p) });
      if (r.degraded) throw new RefusedError(`backup ${r.id} is DEGRADED: ${r.failedDestinations.map((f) => `${f.name} (${f.error})`).join('; ')}`, 'backup.degraded');
      return `backup ${r.id}: ${bytesOf(r.manifest.objects)} on ${r.manifest.destinations.join(', ')}`;
    },
  };
}

export function verifyJob(env: string, cron: string): JobSpec {
  return {
    id: `verify:${env}`, kind: 'verify', env, cron,
    async run(ctx, log) {
      const { verifyBackup } = await import('../backup/index.js');
      const r = await verifyBackup(ctx, 'latest', { env, onPhase: (p) => log(p) });
      if (!r.ok) throw new RefusedError(`verification of ${r.backupId} FAILED: ${r.problems.join('; ')}`, 'verify.failed');
      return `backup ${r.backupId} restored and verified in ${(r.durationMs / 1000).toFixed(1)} s`;
    },
  };
}

export function drillJob(env: string, cron: string): JobSpec {
  return {
    id: `drill:${env}`, kind: 'drill', env, cron,
    async run(ctx, log) {
      const { runDrill, assertDrillOk } = await import('../restore/drill.js');
      const r = await runDrill(ctx, { environment: env, onProgress: log });
      assertDrillOk(r);
      return `drill of ${r.backupId}: RTO ${(r.rtoMs / 1000).toFixed(1)} s, ${r.tablesChecked} tables checked`;
    },
  };
}

export function pruneJob(cron: string): JobSpec {
  return {
    id: 'prune', kind: 'prune', cron,
    async run(ctx, log) {
      const { pruneBackups } = await import('../backup/index.js');
      const r = await pruneBackups(ctx);
      for (const e of r.errors) log(`${e.destination}: ${e.error}`);
      if (r.errors.length) throw new RefusedError(`retention: ${r.errors.length} error(s): ${r.errors.map((e) => `${e.destination}: ${e.error}`).join('; ')}`, 'prune.failed');
      return `retention: kept ${r.keep.length}, removed ${r.removed.length}, ${r.leftovers.length} leftover(s) cleaned`;
    },
  };
}

export function driftJob(cron: string, environments: string[]): JobSpec {
  return {
    id: 'drift', kind: 'drift', cron,
    async run(ctx, log) {
      const { detectDrift } = await import('../migrate/drift.js');
      const r = await detectDrift(ctx, { environments });
      const drifted = r.filter((e) => e.lines.length || e.historyDrift.length);
      for (const e of drifted) for (const l of [...e.historyDrift, ...e.lines]) log(`${e.environment}: ${l}`);
      if (drifted.length) throw new RefusedError(`drift on ${drifted.map((e) => `${e.environment} (${e.lines.length + e.historyDrift.length})`).join(', ')}`, 'drift.found');
      return `no drift on ${r.map((e) => e.environment).join(', ')}`;
    },
  };
}

export function pitrBaseJob(env: string, cron: string): JobSpec {
  return {
    id: `pitr-base:${env}`, kind: 'pitr-base', env, cron,
    async run(ctx) {
      const m = await createBaseBackup(ctx, env);
      return `PITR base backup ${m.id} of ${env} (${m.startLsn} – ${m.stopLsn})`;
    },
  };
}

/** Environments with PITR enabled (`pitr enable` records them in the store). */
export async function pitrEnvironments(ctx: Context): Promise<Array<{ env: string; method: string }>> {
  const docs = await (await ctx.store()).list<{ environment: string; method: string }>(STATE_COLLECTION);
  return docs.map((d) => ({ env: d.doc.environment, method: d.doc.method })).filter((d) => d.env in ctx.loaded.config.environments);
}

/** Every job the config schedules. Drift only for environments whose URL is available. */
export async function scheduledJobs(ctx: Context): Promise<JobSpec[]> {
  const s = ctx.loaded.config.schedules;
  const jobs: JobSpec[] = [];
  for (const env of productionEnvs(ctx)) {
    jobs.push(backupJob(env, s.backup), verifyJob(env, s.verify), drillJob(env, s.drill));
  }
  jobs.push(pruneJob(s.prune));
  const driftEnvs = Object.entries(ctx.loaded.config.environments)
    .filter(([n, e]) => (e.kind === 'production' || e.kind === 'staging') && tryConnectionUrl(ctx.loaded, n))
    .map(([n]) => n);
  // Drift compares environments with what the migrations produce: without migrations every
  // table would be "drift" and the job would fail every hour for nothing.
  if (driftEnvs.length && readMigrations(ctx.loaded).files.length) jobs.push(driftJob(s.drift, driftEnvs));
  for (const p of await pitrEnvironments(ctx)) jobs.push(pitrBaseJob(p.env, ctx.loaded.config.pitr.baseBackupSchedule));
  jobs.push(...(await shadowJobs(ctx))); // sequence sync + health of each shadow (src/shadow)
  return jobs;
}

/** Finds a job by id or kind[:env] for `prodguard jobs run`. */
export function findJob(jobs: JobSpec[], name: string): JobSpec | undefined {
  return jobs.find((j) => j.id === name) ?? jobs.find((j) => j.kind === name && jobs.filter((x) => x.kind === name).length === 1);
}
