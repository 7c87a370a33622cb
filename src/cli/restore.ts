import type { Command } from 'commander';
import { withContext } from './common.js';
import { auditedAction } from './audited.js';
import { emit, note, table } from './output.js';
import { RefusedError, UsageError } from '../errors.js';
import { envOption, intOption, jsonOption, portOption } from './options.js';

/** Registers `restore`, `drill` and the `pitr` group (point-in-time recovery). */
export function registerRestore(program: Command): void {
  program
    .command('restore <backup>')
    .description('restore a backup (id or "latest") into a new database; never over production; verifies row counts')
    .requiredOption('--to <target>', 'target: an environment name or a connection string')
    .addOption(envOption('source'))
    .option('--new-database <name>', 'name of the database to create (default: <db>_restore_<time>)')
    .option('--replace', 'restore into an existing non-empty database (the target URL\'s, or --new-database); it is backed up first')
    .addOption(intOption('--jobs <n>', 'parallel pg_restore jobs (default: backup.jobs)', { min: 1, max: 64 }))
    .option('--no-acl', 'skip GRANT/REVOKE (the target server lacks the source\'s roles)')
    .option('--key <file>', "over production only: the break-glass grant holder's ed25519 private key (proves who restores)")
    .option('--unmasked', 'into a staging environment: restore the data as it is, NOT masked (refused without it; `staging refresh` is the masked way; audited)')
    .addOption(jsonOption())
    .action(async (backup: string, opts: { to: string; env?: string; newDatabase?: string; replace?: boolean; jobs?: number; acl: boolean; key?: string; unmasked?: boolean; json?: boolean }, cmd: Command) => {
      const { restoreBackup } = await import('../restore/restore.js');
      const { loadPrivateKey } = await import('../migrate/keys.js');
      const key = opts.key ? loadPrivateKey(opts.key) : undefined;
      await withContext(cmd, async (ctx) => {
        const r = await restoreBackup(ctx, { backup, to: opts.to, sourceEnv: opts.env, newDatabase: opts.newDatabase, replace: opts.replace, key, jobs: opts.jobs, noAcl: !opts.acl, unmasked: opts.unmasked, onProgress: opts.json ? undefined : note });
        emit(opts, r, () =>
          [
            `restored ${r.backupId} (${r.sourceEnvironment}) into ${r.target} database "${r.database}" in ${(r.durationMs / 1000).toFixed(1)} s`,
            `  ${r.tables} tables, ${r.rows} rows: row counts match the manifest`,
            r.safetyBackupId ? `  the previous content of "${r.database}" is in backup ${r.safetyBackupId}` : '',
          ].filter(Boolean).join('\n'),
        );
      });
    });

  program
    .command('drill')
    .description('restore drill: restore the latest backup into a throw-away cluster, verify, record RTO/RPO')
    .addOption(envOption('source', { description: 'environment whose latest backup to drill (default: the production environment)' }))
    .option('--backup <id>', 'drill this backup instead of the latest')
    .addOption(jsonOption())
    .action(async (opts: { env?: string; backup?: string; json?: boolean }, cmd: Command) => {
      const { runDrill, assertDrillOk } = await import('../restore/drill.js');
      await withContext(cmd, async (ctx) => {
        const r = await runDrill(ctx, { environment: opts.env, backup: opts.backup, onProgress: opts.json ? undefined : note });
        emit(opts, r, () =>
          [
            `drill ${r.ok ? 'PASSED' : 'FAILED'}: ${r.environment} backup ${r.backupId ?? '-'}`,
            `  RTO ${(r.rtoMs / 1000).toFixed(1)} s (fetch + restore + verify), RPO ${r.rpoMs === null ? '-' : `${Math.round(r.rpoMs / 1000)} s`} (age of the restored data)`,
            `  row counts: ${r.tablesChecked} tables, ${r.rowCountMismatches.length} mismatch(es)`,
            ...r.smoke.map((s) => `  smoke ${s.ok ? 'ok  ' : 'FAIL'} ${s.name}: ${s.error ?? `${s.value} (expected ${s.expected})`}`),
          ].join('\n'),
        );
        if (!r.ok) await (await import('../notify/send.js')).notifyEvent(ctx, { event: 'drill.failed', environment: r.environment, summary: `restore drill of ${r.environment} failed${r.error ? `: ${r.error}` : ''}` });
        assertDrillOk(r);
      });
    });

  registerPitr(program);
}

function registerPitr(program: Command): void {
  const pitr = program.command('pitr').description('point-in-time recovery for self-hosted PostgreSQL: WAL archive, base backups, restore to a moment');

  pitr
    .command('enable')
    .description('turn on continuous WAL archiving (config.pitr.method: archive-command or streaming)')
    .addOption(envOption('any', { description: 'environment whose server to archive' }))
    .addOption(jsonOption())
    .action(async (opts: { env: string; json?: boolean }, cmd: Command) => {
      const { enablePitr } = await import('../restore/pitr/enable.js');
      await withContext(cmd, async (ctx) => {
        const r = await enablePitr(ctx, opts.env);
        emit(opts, r, () =>
          [
            `PITR ${r.method} archiving configured for ${r.environment} → ${r.store}`,
            r.changed.length ? `changed: ${r.changed.join(', ')}` : 'nothing to change',
            `RPO: ${r.rpo}`,
            r.restartRequired ? 'RESTART PostgreSQL now: archive_mode/wal_level only take effect after a restart' : '',
            r.method === 'streaming' ? `run \`prodguard pitr stream --env ${r.environment}\` as a service (slot ${r.slot})` : '',
            `then take a base backup: prodguard pitr base-backup --env ${r.environment}`,
          ].filter(Boolean).join('\n'),
        );
      });
    });

  pitr
    .command('archive-wal <path> <name>')
    .description('archive one WAL file (what archive_command runs: %p %f); not audited per segment')
    .addOption(envOption('any', { description: 'environment the WAL belongs to' }))
    .action(async (path: string, name: string, opts: { env: string }, cmd: Command) => {
      const { archiveWalFile } = await import('../restore/pitr/archive.js');
      const { encryptionSettings } = await import('../restore/pitr/crypto.js');
      const { openPitrStore } = await import('../restore/pitr/store.js');
      await withContext(cmd, async (ctx) => {
        const store = await openPitrStore(ctx.loaded, opts.env, encryptionSettings(ctx.loaded));
        try {
          await archiveWalFile(store, path, name);
        } finally {
          await store.close();
        }
      });
    });

  pitr
    .command('stream')
    .description('run pg_receivewal with a replication slot into a local spool and ship completed segments (runs until stopped)')
    .addOption(envOption('any', { description: 'environment to stream from' }))
    .action(async (opts: { env: string }, cmd: Command) => {
      const { streamWal } = await import('../restore/pitr/stream.js');
      await withContext(cmd, async (ctx) => {
        await streamWal(ctx, opts.env, { onShip: (n) => note(`shipped ${n}`) });
      });
    });

  pitr
    .command('base-backup')
    .description('take a pg_basebackup (tar, encrypted, checksummed) into the PITR archive')
    .addOption(envOption('any', { description: 'environment to back up' }))
    .addOption(jsonOption())
    .action(async (opts: { env: string; json?: boolean }, cmd: Command) => {
      const { createBaseBackup } = await import('../restore/pitr/base-backup.js');
      await withContext(cmd, async (ctx) => {
        const m = await createBaseBackup(ctx, opts.env);
        emit(opts, m, () => `base backup ${m.id}: ${m.startLsn} → ${m.stopLsn} (timeline ${m.timeline}), ${m.files.length} file(s)`);
      });
    });

  pitr
    .command('restore')
    .description('build a NEW cluster recovered to a moment: --time, --lsn, --before-xid or --latest')
    .addOption(envOption('any', { description: 'environment whose archive to restore from' }))
    .option('--time <timestamp>', "recover up to this moment, inclusive, e.g. '2026-11-25 10:31:07+00'")
    .option('--lsn <lsn>', 'recover up to this WAL position, e.g. 0/3000060')
    .option('--before-xid <xid>', 'recover up to just before this transaction committed')
    .option('--latest', 'recover everything archived (up to the newest archived commit)')
    .requiredOption('--to <dir>', 'new data directory (must not exist or be empty)')
    .addOption(portOption('port for the recovery server (default: a free port)'))
    .option('--start', 'leave the recovered server running afterwards')
    .addOption(jsonOption())
    .action(async (opts: { env: string; time?: string; lsn?: string; beforeXid?: string; latest?: boolean; to: string; port?: number; start?: boolean; json?: boolean }, cmd: Command) => {
      const { pitrRestore, parseTarget, startDetached } = await import('../restore/pitr/restore.js');
      const target = parseTarget(opts);
      await withContext(cmd, async (ctx) => {
        const r = await pitrRestore(ctx, { environment: opts.env, target, to: opts.to, port: opts.port, onProgress: opts.json ? undefined : note });
        if (opts.start) await startDetached(r);
        const { cluster: _c, ...data } = r;
        emit(opts, { ...data, running: !!opts.start }, () =>
          [
            `restored ${r.environment} to ${r.target} in ${(r.durationMs / 1000).toFixed(1)} s`,
            `  ${r.stoppedAt}`,
            `  last replayed commit: ${r.lastReplayedCommit ?? 'none'}`,
            `  data directory: ${r.dataDir} (base ${r.baseBackup}, ${r.segments} WAL segment(s))`,
            opts.start ? `  running on 127.0.0.1:${r.port}` : `  start it with: pg_ctl -D ${r.dataDir} -l ${r.logFile} start   (port ${r.port})`,
          ].join('\n'),
        );
      });
    });

  pitr
    .command('pull')
    .description('rebuild the local PITR archive of an environment from a backup destination (after losing this host)')
    .addOption(envOption('any'))
    .requiredOption('--from <destination>', 'name of a backup destination holding pitr/<env>/')
    .addOption(jsonOption())
    .action(async (opts: { env: string; from: string; json?: boolean }, cmd: Command) => {
      const { pullFromDestination } = await import('../restore/pitr/store.js');
      const outcome = (r: { copied: number; skipped: number }) => ({ reason: `${r.copied} file(s) copied, ${r.skipped} already present` });
      const r = await auditedAction(cmd, { action: 'pitr.pull', target: opts.env, outcome }, (ctx) => pullFromDestination(ctx.loaded, opts.env, opts.from));
      emit(opts, r, () => `copied ${r.copied} file(s) from ${opts.from}; ${r.skipped} were already present`);
    });

  pitr
    .command('status')
    .description('recoverable window, archiving lag and missing WAL segments')
    .addOption(envOption('any'))
    .addOption(jsonOption())
    .action(async (opts: { env: string; json?: boolean }, cmd: Command) => {
      const { pitrStatus } = await import('../restore/pitr/status.js');
      const { receiverState, pitrProblems } = await import('../restore/pitr/receiver-state.js');
      type Status = Awaited<ReturnType<typeof pitrStatus>> & { receiver: Awaited<ReturnType<typeof receiverState>> };
      const outcome = (s: Status) => {
        const problems = pitrProblems(s);
        return { verdict: problems.length ? 'failed' : 'ok', reason: problems.length ? problems.join('; ') : `window ${s.earliest ?? '-'} → ${s.latest ?? '-'}` };
      };
      const s = await auditedAction(cmd, { action: 'pitr.status', target: (s: Status) => s.environment, outcome }, async (ctx): Promise<Status> => {
        const base = await pitrStatus(ctx.loaded, opts.env);
        return { ...base, receiver: await receiverState(ctx, base.environment) };
      });
      const problems = pitrProblems(s);
      emit(opts, s, () => {
        const rows: Array<[string, string]> = [
          ['method', s.method],
          ['archive', s.store],
          ['base backups', String(s.baseBackups)],
          ['WAL files', String(s.segments)],
          ['earliest restorable', s.earliest ?? 'none (no base backup)'],
          ['latest restorable', s.latest ?? 'none'],
          ['archived up to', s.archivedUpToLsn ?? '-'],
        ];
        if (s.server?.reachable) {
          rows.push(['server WAL position', s.server.currentLsn ?? '-']);
          rows.push(['archiving lag', s.server.lagBytes === undefined ? '-' : `${s.server.lagBytes} bytes`]);
          if (s.server.streaming) rows.push(['streaming receiver', `${s.server.streaming.active ? 'connected' : 'NOT connected'}, lag ${s.server.streaming.lagBytes ?? '-'} bytes`]);
          if (s.server.failedCount) rows.push(['archive failures', `${s.server.failedCount} (last ${s.server.lastFailedWal})`]);
        } else if (s.server) rows.push(['server', 'unreachable']);
        if (s.spoolPartial) rows.push(['receiving', s.spoolPartial]);
        rows.push(['gaps', s.gaps.length ? `${s.gaps.length} missing: ${s.gaps.slice(0, 10).join(', ')}${s.gaps.length > 10 ? ', …' : ''}` : 'none']);
        if (s.missingHistory) rows.push(['timeline history', `MISSING ${s.missingHistory}`]);
        if (s.receiver) rows.push(['receiver (pitr stream)', `${s.receiver.state} since ${s.receiver.since}${s.receiver.gaps.length ? `, ${s.receiver.gaps.length} disconnect(s), last from ${s.receiver.gaps[s.receiver.gaps.length - 1].from}` : ''}`]);
        return table(['', ''], rows).split('\n').slice(1).join('\n');
      });
      // Anything that loses recoverability fails the command (exit 1), for scripts and monitors.
      if (problems.length) throw new RefusedError(`PITR for ${s.environment} is not healthy: ${problems.join('; ')}`, 'pitr.unhealthy');
    });
}
