import type { Command } from 'commander';
import { withContext, collect } from './common.js';
import { emit, note, table } from './output.js';
import { RefusedError } from '../errors.js';

/** Registers the `shadow` group: PITR for hosted production through a self-hosted logical replica. */
export function registerShadow(program: Command): void {
  const shadow = program.command('shadow').description('point-in-time recovery for hosted production (Supabase): a self-hosted logical replica with its own PITR');

  shadow
    .command('enable')
    .description('publish production\'s tables, copy the schema to the shadow, subscribe, turn on PITR for the shadow')
    .requiredOption('--env <env>', 'the production environment')
    .requiredOption('--shadow <environment>', 'the configured environment that is the shadow (self-hosted, superuser connection)')
    .option('--schema <name>', 'schema to replicate (repeatable; default public)', collect, [])
    .option('--json', 'output JSON')
    .action(async (opts: { env: string; shadow: string; schema: string[]; json?: boolean }, cmd: Command) => {
      const { enableShadow } = await import('../shadow/enable.js');
      await withContext(cmd, async (ctx) => {
        const r = await enableShadow(ctx, { environment: opts.env, shadowEnv: opts.shadow, schemas: opts.schema, onProgress: opts.json ? undefined : note });
        emit(opts, r, () =>
          [
            `shadow ${r.shadow} follows ${r.environment}: ${r.tables.length} table(s) in publication ${r.publication}, subscription ${r.subscription}`,
            ...r.notCovered.map((n) => `  not covered: ${n.table} — ${n.reason}`),
            r.pitr ? `  PITR on the shadow: ${r.pitr.method}, base backup ${r.pitr.baseBackup ?? '(after the restart)'}` : '',
            `  next: run \`prodguard pitr stream --env ${r.shadow}\` as a service (or serve), and \`prodguard shadow sync-sequences --env ${r.environment}\` on a schedule`,
          ].filter(Boolean).join('\n'),
        );
      });
    });

  shadow
    .command('status')
    .description('replication lag, last replicated production commit, subscription errors, tables not covered, drift, recoverable window')
    .requiredOption('--env <env>', 'the production environment')
    .option('--no-drift', 'skip the schema comparison')
    .option('--notify', 'send each problem through the configured notifications (for schedules)')
    .option('--json', 'output JSON')
    .action(async (opts: { env: string; drift: boolean; notify?: boolean; json?: boolean }, cmd: Command) => {
      const { shadowStatus } = await import('../shadow/status.js');
      await withContext(cmd, async (ctx) => {
        const s = await shadowStatus(ctx, opts.env, { drift: opts.drift });
        if (opts.notify) await (await import('../shadow/alerts.js')).alertShadowProblems(ctx, s);
        emit(opts, s, () => {
          const rows: Array<[string, string]> = [
            ['shadow', s.shadow],
            ['subscription', s.subscription ? `${s.subscription.name}: ${s.subscription.exists ? (s.subscription.enabled ? (s.subscription.workerRunning ? 'running' : 'NOT RUNNING') : 'DISABLED') : 'MISSING'}, ${s.subscription.applyErrors} apply / ${s.subscription.syncErrors} sync error(s)` : '-'],
            ['lag', `${s.lagSeconds === null ? '-' : `${s.lagSeconds.toFixed(1)} s`}, ${s.production.lagBytes ?? '-'} bytes`],
            ['last replicated commit', s.lastReplicatedCommit ?? '-'],
            ['recoverable window', `${s.window.earliest ?? '-'} → ${s.window.latest ?? '-'} (${s.window.baseBackups} base backup(s))`],
            ['schema drift', s.drift.checked ? (s.drift.inSync ? 'none' : `${s.drift.differences.length} difference(s)`) : 'not checked'],
            ['sequences synced', s.sequencesSyncedAt ?? 'never'],
          ];
          return [table(['', ''], rows), ...s.notCovered.map((n) => `not covered: ${n.table} — ${n.reason}`), ...s.problems.map((p) => `PROBLEM: ${p}`)].join('\n');
        });
        if (s.problems.length) throw new RefusedError(`shadow of ${s.environment} is not healthy: ${s.problems.join('; ')}`, 'shadow.unhealthy');
      });
    });

  shadow
    .command('restore')
    .description('production as it was just before a moment, exactly: recovered from the shadow\'s PITR in a throw-away cluster, copied to --to')
    .requiredOption('--env <env>', 'the production environment')
    .requiredOption('--time <timestamp>', "production moment T, e.g. '2026-11-25 17:00:00+00': every transaction production committed before T, none after")
    .requiredOption('--to <target>', 'a new (empty) database: environment name or connection string; production only with --table under break-glass')
    .option('--table <table>', 'copy only this table\'s rows (missing rows are inserted, none overwritten)')
    .option('--where <condition>', 'with --table: only rows matching this SQL condition')
    .option('--key <file>', "onto production only: the break-glass grant holder's ed25519 private key (proves who restores)")
    .option('--json', 'output JSON')
    .action(async (opts: { env: string; time: string; to: string; table?: string; where?: string; key?: string; json?: boolean }, cmd: Command) => {
      const { shadowRestore } = await import('../shadow/restore.js');
      const key = opts.key ? (await import('../migrate/keys.js')).loadPrivateKey(opts.key) : undefined;
      await withContext(cmd, async (ctx) => {
        const r = await shadowRestore(ctx, { environment: opts.env, time: opts.time, to: opts.to, table: opts.table, where: opts.where, key, onProgress: opts.json ? undefined : note });
        emit(opts, r, () =>
          [
            `restored ${r.environment} as of ${r.time} into ${r.target} in ${(r.durationMs / 1000).toFixed(1)} s`,
            `  last production commit restored: ${r.lastRestoredCommit ?? '-'}; first left out: ${r.firstExcludedCommit ?? '-'}`,
            ...r.counts.map((c) => `  ${c.table}: ${c.source} row(s) recovered, ${c.target} in the target${c.inserted !== undefined ? ` (${c.inserted} inserted)` : ''}`),
            `  ${r.sequences.length} sequence(s) past their columns' maximum`,
            r.safetyBackupId ? `  the target was backed up first: ${r.safetyBackupId}` : '',
          ].filter(Boolean).join('\n'),
        );
      });
    });

  shadow
    .command('migrate')
    .description('apply the migrations production has not got yet to the shadow first (migrate deploy does this itself); --publish after the deploy adds new tables to the publication')
    .requiredOption('--env <env>', 'the production environment')
    .option('--publish', 'after production has the migrations: publish the tables they created and copy their rows to the shadow')
    .option('--json', 'output JSON')
    .action(async (opts: { env: string; publish?: boolean; json?: boolean }, cmd: Command) => {
      const m = await import('../shadow/migrate.js');
      await withContext(cmd, async (ctx) => {
        if (opts.publish) {
          const tables = await m.publishNewTables(ctx, opts.env);
          emit(opts, { published: tables }, () => (tables.length ? `published ${tables.join(', ')} to the shadow` : 'no new table to publish'));
          return;
        }
        const r = await m.migrateShadowFirst(ctx, opts.env, await m.pendingOnProduction(ctx, opts.env), opts.json ? undefined : note);
        if (!r.shadow) throw new RefusedError(`no shadow is set up for ${opts.env}; run prodguard shadow enable first`, 'shadow.not-enabled');
        emit(opts, r, () => (r.applied.length ? `applied to the shadow ${r.shadow}: ${r.applied.join(', ')}` : `the shadow ${r.shadow} already has every pending migration`));
      });
    });

  shadow
    .command('drill')
    .description('restore drill from the shadow: real RPO (the lag now) and RTO (a full shadow restore into a throw-away cluster, counts compared)')
    .requiredOption('--env <env>', 'the production environment')
    .option('--json', 'output JSON')
    .action(async (opts: { env: string; json?: boolean }, cmd: Command) => {
      const { shadowDrill } = await import('../shadow/drill.js');
      await withContext(cmd, async (ctx) => {
        const r = await shadowDrill(ctx, opts.env, { onProgress: opts.json ? undefined : note });
        emit(opts, r, () =>
          [
            `shadow drill ${r.ok ? 'PASSED' : 'FAILED'}: ${r.environment}`,
            `  RTO ${(r.rtoMs / 1000).toFixed(1)} s (WAL scan + PITR of the shadow + copy out + counts), RPO ${r.rpoMs === null ? '?' : `${(r.rpoMs / 1000).toFixed(1)} s`} (the shadow's lag at the drill)`,
            `  last production commit restored: ${r.lastRestoredCommit ?? '-'}; ${r.tablesChecked} table(s) counted`,
          ].join('\n'),
        );
        if (!r.ok) {
          await (await import('../notify/send.js')).notifyEvent(ctx, { event: 'drill.failed', environment: r.environment, summary: `shadow restore drill of ${r.environment} failed: ${r.error}` });
          throw new RefusedError(`shadow drill of ${r.environment} failed: ${r.error}`, 'shadow.drill-failed');
        }
      });
    });

  shadow
    .command('disable')
    .description('drop the subscription, production\'s slot (an abandoned slot fills production\'s disk with WAL) and the publication; the shadow\'s archive is kept')
    .requiredOption('--env <env>', 'the production environment')
    .option('--json', 'output JSON')
    .action(async (opts: { env: string; json?: boolean }, cmd: Command) => {
      const { disableShadow } = await import('../shadow/disable.js');
      await withContext(cmd, async (ctx) => {
        const r = await disableShadow(ctx, opts.env);
        emit(opts, r, () => [`shadow of ${r.environment}: subscription ${r.subscriptionDropped ? 'dropped' : 'not dropped'}, slot ${r.slotDropped ? 'gone' : 'KEPT'}, publication dropped`, ...r.notes.map((n) => `  ${n}`)].join('\n'));
        if (!r.slotDropped) throw new RefusedError(`production still has the slot of ${r.environment}'s shadow: ${r.notes.join('; ')}`, 'shadow.slot-kept');
      });
    });

  shadow
    .command('sync-sequences')
    .description('copy production\'s sequence values to the shadow (logical replication does not carry them; run on a schedule)')
    .requiredOption('--env <env>', 'the production environment')
    .option('--json', 'output JSON')
    .action(async (opts: { env: string; json?: boolean }, cmd: Command) => {
      const { syncShadowSequences } = await import('../shadow/alerts.js');
      await withContext(cmd, async (ctx) => {
        const values = await syncShadowSequences(ctx, opts.env);
        emit(opts, { sequences: values }, () => `${values.length} sequence(s) copied to the shadow`);
      });
    });
}
