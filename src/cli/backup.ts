import type { Command } from 'commander';
import { withContext } from './common.js';
import { auditedAction } from './audited.js';
import type { BackupManifest } from '../backup/manifest.js';
import { emit, note, table } from './output.js';
import { RefusedError, UsageError } from '../errors.js';
import { durationOption, envOption, jsonOption, reasonOption, yesOption } from './options.js';

/** Registers the `backup` command group: create, list, show, verify, prune, sync-catalog, keygen. */
export function registerBackup(program: Command): void {
  const backup = program.command('backup').description('encrypted pg_dump backups in two places, proven by restore');

  backup
    .command('create')
    .description('pg_dump from a consistent snapshot, encrypted, streamed to every destination; manifest written last')
    .addOption(envOption('any', { description: 'environment to back up' }))
    .addOption(reasonOption('why (recorded in the manifest and the audit log)'))
    .addOption(jsonOption())
    .option('--quiet', 'no progress output')
    .action(async (opts: { env: string; reason?: string; json?: boolean; quiet?: boolean }, cmd: Command) => {
      const { createBackupNotified, degradedBackupError } = await import('../backup/create-notified.js');
      const { progressReporter, formatBytes } = await import('../backup/progress.js');
      await withContext(cmd, async (ctx) => {
        const p = progressReporter({ label: `backup ${opts.env}`, quiet: opts.quiet });
        const res = await createBackupNotified(ctx, { env: opts.env, reason: opts.reason, onProgress: ({ bytes }) => p.bytes(bytes), onPhase: (ph) => p.phase(ph) }).finally(() => p.stop());
        const m = res.manifest;
        const bytes = m.objects.reduce((s, o) => s + o.bytes, 0);
        emit(opts, res, () =>
          [
            `backup ${m.id} of ${m.environment} (${m.database}): ${formatBytes(bytes)}, ${Object.keys(m.rowCounts).length} tables, ${m.objects.length} objects`,
            `  stored on: ${m.destinations.join(', ')}${m.recipients.length ? ` · encrypted to ${m.recipients.length} recipient(s)` : ' · NOT encrypted'}`,
            m.globalsSkipped ? `  roles not dumped: ${m.globalsSkipped}` : '',
          ].filter(Boolean).join('\n'),
        );
        if (res.degraded) throw degradedBackupError(res);
      });
    });

  backup
    .command('list')
    .description('complete backups in the catalog, newest first (--leftovers: what crashed runs left behind)')
    .addOption(envOption('filter'))
    .option('--leftovers', 'list leftovers instead: local working dirs of crashed runs, manifest-less folders and .tmp-* files on destinations')
    .addOption(jsonOption())
    .action(async (opts: { env?: string; json?: boolean; leftovers?: boolean }, cmd: Command) => {
      const { listBackups } = await import('../backup/catalog.js');
      const { formatBytes } = await import('../backup/progress.js');
      if (opts.leftovers) {
        const { findLeftovers } = await import('../backup/leftovers.js');
        await withContext(cmd, async (ctx) => {
          const l = await findLeftovers(ctx);
          emit(opts, l, () => {
            const lines: string[] = [];
            for (const x of l.local) lines.push(`local       ${x.path}  ${formatBytes(x.bytes)}  ${x.modified.replace('T', ' ').slice(0, 19)}  ${localLeftoverState(x)}`);
            for (const x of l.destinations) lines.push(`${x.destination.padEnd(11)} ${x.key}  ${formatBytes(x.bytes)}  ${x.modified.replace('T', ' ').slice(0, 19)}  ${x.kind === 'temp-file' ? 'partial object' : 'no manifest'}${x.recent ? ' (recent: a backup may be running)' : ''}`);
            for (const x of l.databases) lines.push(`database    ${x.environment}:${x.database}  LEFTOVER of a killed ${DB_LEFTOVER[x.kind]} — backup prune --yes${x.kind === 'private-copy' || x.kind === 'old-staging' ? ' or the next staging refresh' : ''} drops it`);
            for (const e of l.errors) lines.push(`${e.destination.startsWith('staging environment') ? '' : 'destination '}${e.destination} unreachable: ${e.error}`);
            return lines.length ? lines.join('\n') : 'no leftovers';
          });
        });
        return;
      }
      await auditedAction(cmd, { action: 'backup.list', target: opts.env, outcome: (list: unknown[]) => ({ reason: `${list.length} backup(s)` }) }, async (ctx) => {
        const list = await listBackups(ctx, { env: opts.env });
        emit(opts, list, () =>
          list.length === 0
            ? 'no backups in the catalog'
            : table(
                ['id', 'env', 'started', 'size', 'tables', 'destinations', 'state', 'verified'],
                list.map((m) => [
                  m.id,
                  m.environment,
                  m.startedAt.replace('T', ' ').slice(0, 19),
                  formatBytes(m.objects.reduce((s, o) => s + o.bytes, 0)),
                  Object.keys(m.rowCounts).length,
                  m.destinations.join(','),
                  m.degraded ? 'DEGRADED' : 'ok',
                  m.verified ? `${m.verified.ok ? 'ok' : 'FAILED'} ${m.verified.at.replace('T', ' ').slice(0, 16)}` : 'never',
                ]),
              ),
        );
        return list;
      });
    });

  backup
    .command('show')
    .description('one backup\'s manifest')
    .argument('<id>', 'backup id or "latest"')
    .addOption(envOption('filter', { description: 'with latest: newest of this environment' }))
    .addOption(jsonOption())
    .action(async (id: string, opts: { env?: string; json?: boolean }, cmd: Command) => {
      const { getBackup } = await import('../backup/catalog.js');
      const { formatBytes } = await import('../backup/progress.js');
      const event = { action: 'backup.show', target: (m: BackupManifest) => m.environment, outcome: (m: BackupManifest) => ({ reason: m.id }) };
      await auditedAction(cmd, event, async (ctx) => {
        const m = await getBackup(ctx, id, { env: opts.env });
        emit(opts, m, () =>
          [
            `backup ${m.id}`,
            `  environment ${m.environment} · database ${m.database} · PostgreSQL ${m.serverVersion} · pg_dump ${m.pgDumpVersion}`,
            `  ${m.startedAt} → ${m.finishedAt} · snapshot ${m.snapshot} · LSN ${m.lsn} · format ${m.format}`,
            `  destinations: ${m.destinations.join(', ')}${m.degraded ? ' (DEGRADED)' : ''}`,
            `  encryption: ${m.recipients.length ? m.recipients.join(', ') : 'none'}`,
            m.reason ? `  reason: ${m.reason}` : '',
            m.globalsSkipped ? `  roles not dumped: ${m.globalsSkipped}` : '',
            `  verified: ${m.verified ? `${m.verified.ok ? 'ok' : 'FAILED'} at ${m.verified.at} (${(m.verified.durationMs / 1000).toFixed(1)} s)${m.verified.problems.map((p) => `\n    - ${p}`).join('')}` : 'never'}`,
            '  objects:',
            ...m.objects.map((o) => `    ${o.name}  ${formatBytes(o.bytes)}  sha256 ${o.sha256.slice(0, 16)}…`),
            `  row counts (${Object.keys(m.rowCounts).length} tables):`,
            ...Object.entries(m.rowCounts).map(([t, n]) => `    ${t}  ${n}`),
          ].filter(Boolean).join('\n'),
        );
        return m;
      });
    });

  backup
    .command('verify')
    .description('prove a backup: check every copy\'s sha256, decrypt, restore into a throw-away cluster, compare row counts')
    .argument('<id>', 'backup id or "latest"')
    .addOption(envOption('filter', { description: 'with latest: newest of this environment' }))
    .option('--scratch-url <url>', 'restore into a temporary database on this server instead of a throw-away cluster')
    .addOption(jsonOption())
    .action(async (id: string, opts: { env?: string; scratchUrl?: string; json?: boolean }, cmd: Command) => {
      const { verifyBackup } = await import('../backup/verify.js');
      await withContext(cmd, async (ctx) => {
        const r = await verifyBackup(ctx, id, { env: opts.env, scratchUrl: opts.scratchUrl, onPhase: opts.json ? undefined : (ph) => note(`verify: ${ph}`) });
        emit(opts, r, () =>
          r.ok
            ? `backup ${r.backupId} verified: every copy intact, restored, row counts match (${(r.durationMs / 1000).toFixed(1)} s)`
            : [`backup ${r.backupId} FAILED verification:`, ...r.problems.map((p) => `  - ${p}`)].join('\n'),
        );
        if (!r.ok) await (await import('../notify/send.js')).notifyEvent(ctx, { event: 'verify.failed', environment: opts.env ?? null, summary: `backup ${r.backupId} failed verification: ${r.problems[0]}`, details: { backupId: r.backupId } });
        if (!r.ok) throw new RefusedError(`backup ${r.backupId} failed verification: ${r.problems[0]}`, 'backup.verify-failed');
      });
    });

  backup
    .command('prune')
    .description('apply the retention policy (GFS) and remove incomplete leftovers')
    .option('--dry-run', 'show what would be removed, remove nothing')
    .addOption(yesOption('really delete (required unless --dry-run)'))
    .addOption(durationOption('--grace <duration>', 'leave manifest-less leftovers younger than this alone', '24h'))
    .addOption(jsonOption())
    .action(async (opts: { dryRun?: boolean; yes?: boolean; grace: number; json?: boolean }, cmd: Command) => {
      if (!opts.dryRun && !opts.yes) throw new UsageError('backup prune deletes backups: run with --dry-run to see what would go, then --yes to delete', 'backup.prune-confirm');
      const { pruneBackups } = await import('../backup/prune.js');
      await withContext(cmd, async (ctx) => {
        const r = await pruneBackups(ctx, { dryRun: opts.dryRun, graceMs: opts.grace });
        const verb = r.dryRun ? 'would remove' : 'removed';
        emit(opts, r, () =>
          [
            `${verb} ${r.removed.length} backup(s), kept ${r.keep.length}, ${verb} ${r.leftovers.length} leftover object(s)`,
            ...r.removed.map((b) => `  - ${b.environment} ${b.id}`),
            ...r.keep.map((b) => `  keep ${b.environment} ${b.id} (${b.why.join(', ')})`),
            ...r.leftovers.map((l) => `  leftover ${l.destination}:${l.key}`),
            ...r.localLeftovers.map((l) => `  ${verb} local leftover ${l}`),
            ...r.databaseLeftovers.map((d) => `  ${r.dryRun ? 'would drop' : 'dropped'} database of a killed staging refresh ${d}`),
            ...r.databaseErrors.map((e) => `  staging environment ${e.environment} not checked for refresh leftovers: ${e.error}`),
            ...r.errors.map((e) => `  error on ${e.destination}: ${e.error}`),
          ].join('\n'),
        );
        if (r.errors.length) throw new RefusedError(`prune incomplete: ${r.errors[0].destination}: ${r.errors[0].error}`, 'backup.prune-errors');
      });
    });

  backup
    .command('sync-catalog')
    .description('rebuild the catalog from the manifests on the destinations (after losing the state store)')
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { syncCatalog } = await import('../backup/sync-catalog.js');
      await withContext(cmd, async (ctx) => {
        const r = await syncCatalog(ctx);
        emit(opts, r, () =>
          [
            `catalog rebuilt: ${r.found} backup(s) found, ${r.added.length} added, ${r.removed.length} removed`,
            ...r.unreachable.map((u) => `  destination ${u.name} unreachable: ${u.error}`),
            ...r.damaged.map((d) => `  DAMAGED: backup ${d.id} on destination ${d.destination}: ${d.problem}`),
          ].join('\n'),
        );
        if (r.unreachable.length) throw new RefusedError(`destination ${r.unreachable[0].name} unreachable; the catalog may be incomplete`, 'backup.sync-degraded');
        if (r.damaged.length) throw new RefusedError(`backup ${r.damaged[0].id} is damaged on destination ${r.damaged[0].destination} (${r.damaged[0].problem}); run \`prodguard backup verify ${r.damaged[0].id}\``, 'backup.sync-damaged');
      });
    });

  backup
    .command('keygen')
    .description('make an age X25519 key pair: the identity goes to a new 0600 file, the public key is printed for backup.encryption.recipients')
    .requiredOption('--out <file>', 'where to write the identity (AGE-SECRET-KEY-1…); refused if the file exists')
    .addOption(jsonOption())
    .action(async (opts: { out: string; json?: boolean }) => {
      const { writeIdentityFile } = await import('../backup/keygen.js');
      const k = await writeIdentityFile(opts.out);
      const file = k.identityFile;
      emit(opts, k, () =>
        [
          `public key (add to backup.encryption.recipients): ${k.recipient}`,
          `identity written to ${file} (mode 0600): keep a copy offline; point backup.encryption.identityFile at it or put its AGE-SECRET-KEY line in $PRODGUARD_AGE_IDENTITY where backups are verified and restored`,
        ].join('\n'),
      );
    });
}

/** One line's state of a local working dir or throw-away cluster directory. */
function localLeftoverState(x: { running: boolean; ownerPid: number | null; serverPid: number | null }): string {
  if (x.running) return x.ownerPid !== null ? `in use by running pid ${x.ownerPid}` : `in use by a running PostgreSQL server (pid ${x.serverPid}), owner not recorded`;
  if (x.serverPid !== null) return `LEFTOVER: throw-away PostgreSQL server pid ${x.serverPid} still RUNNING on restored data (owner pid ${x.ownerPid ?? '?'} gone) — backup prune stops and removes it`;
  return 'LEFTOVER (owner gone; may hold plaintext) — backup prune removes it';
}

const DB_LEFTOVER = {
  'private-copy': 'staging refresh (private copy: may hold UNMASKED production rows)',
  'old-staging': 'staging refresh (old staging renamed aside)',
  'verify-scratch': 'backup verify --scratch-url (restored backup: UNMASKED rows)',
  'partial-restore': 'restore (partly restored backup: UNMASKED rows)',
} as const;
