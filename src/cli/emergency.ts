/**
 * Emergency commands: break-glass (open, end, list) and notify test. Thin: parse, call
 * src/emergency or src/notify, print.
 */
import type { Command } from 'commander';
import { withContext } from './common.js';
import { emit, note, table } from './output.js';
import { RefusedError, UsageError } from '../errors.js';
import { choiceOption, envOption, jsonOption, keyOption, reasonOption } from './options.js';

interface BreakGlassOpts {
  env?: string;
  reason?: string;
  duration?: string;
  key?: string;
  secondKey?: string;
  withoutBackup?: boolean;
  grant?: string;
  json?: boolean;
}

/** Options given before or after the subcommand name land on either command: merge them. */
function merged(opts: BreakGlassOpts, cmd: Command): BreakGlassOpts {
  return { ...(cmd.parent?.opts() as BreakGlassOpts), ...opts };
}

export function registerEmergency(program: Command): void {
  const bg = program
    .command('break-glass')
    .description('emergency write access for a senior: immediate verified backup, time-boxed grant, lockdown token, notifications')
    .addOption(envOption('any', { required: false }))
    .addOption(reasonOption('what is broken (required to open)'))
    .option('--duration <d>', 'how long: 30m, 90min, 2h (at most 4h)', '30m')
    .addOption(keyOption("the senior's ed25519 private key (prodguard keys generate)", false))
    .option('--without-backup', 'open without the immediate backup (needs --second-key)')
    .option('--second-key <file>', "a second senior's key, required with --without-backup")
    .addOption(jsonOption())
    .action(async (opts: BreakGlassOpts, cmd: Command) => {
      if (!opts.env) throw new UsageError('break-glass needs --env <name>');
      if (!opts.reason) throw new UsageError('break-glass needs --reason "<what is broken>"');
      if (!opts.key) throw new UsageError("break-glass needs --key <file>: a senior's ed25519 private key proves who opens it");
      if (opts.secondKey && !opts.withoutBackup) throw new UsageError('--second-key only goes with --without-backup');
      const { openBreakGlass, parseBreakGlassDuration } = await import('../emergency/break-glass.js');
      const { loadPrivateKey } = await import('../migrate/keys.js');
      const durationMs = parseBreakGlassDuration(opts.duration ?? '30m');
      const key = loadPrivateKey(opts.key);
      const secondKey = opts.secondKey ? loadPrivateKey(opts.secondKey) : undefined;
      await withContext(cmd, async (ctx) => {
        const r = await openBreakGlass(ctx, { env: opts.env!, reason: opts.reason!, durationMs, key, secondKey, withoutBackup: opts.withoutBackup, onPhase: opts.json ? undefined : note });
        // The lockdown token is printed once, to stdout only (as `lockdown token` does): emit() would mask it.
        if (opts.json) {
          process.stdout.write(JSON.stringify({ grant: r.grant, backupId: r.record.backupId, lockdownToken: r.lockdownToken, lockdownTokenExpiresAt: r.record.lockdownTokenExpiresAt }, null, 2) + '\n');
          return;
        }
        process.stdout.write([
          `BREAK-GLASS OPEN on ${r.grant.env} for ${r.grant.person} until ${r.grant.expiresAt} (grant ${r.grant.id})`,
          r.record.backupId ? `backup taken and verified first: ${r.record.backupId}` : `opened WITHOUT a backup (agreed by ${r.record.secondSenior})`,
          'write access: connect through the gateway (prodguard gateway) as yourself; every statement is audited with the grant id',
          ...(r.lockdownToken ? [`database lockdown token (shown once, expires ${r.record.lockdownTokenExpiresAt}): SET prodguard.token = '${r.lockdownToken}';`] : []),
          `close it early: prodguard break-glass end --env ${r.grant.env}`,
        ].join('\n') + '\n');
      });
    });

  bg.command('end')
    .description('close the open break-glass of an environment now (grant revoked, database token ended); audited and notified')
    .option('--grant <id>', 'only this grant')
    .addOption(jsonOption())
    .action(async (o: BreakGlassOpts, cmd: Command) => {
      const opts = merged(o, cmd);
      if (!opts.env) throw new UsageError('break-glass end needs --env <name>');
      const { endBreakGlass } = await import('../emergency/break-glass.js');
      await withContext(cmd, async (ctx) => {
        const ended = await endBreakGlass(ctx, { env: opts.env!, grantId: opts.grant });
        emit(opts, ended, () => ended.map((r) => `break-glass ${r.grantId} of ${r.person} on ${r.env} ended`).join('\n'));
      });
    });

  bg.command('list')
    .description('active and past break-glass grants')
    .addOption(jsonOption())
    .action(async (o: BreakGlassOpts, cmd: Command) => {
      const opts = merged(o, cmd);
      const { listBreakGlass } = await import('../emergency/break-glass.js');
      await withContext(cmd, async (ctx) => {
        const all = await listBreakGlass(ctx, { env: opts.env });
        emit(opts, all, () =>
          all.length
            ? table(['grant', 'env', 'person', 'state', 'opened', 'expires', 'backup', 'reason'], all.map((r) => [r.grantId, r.env, r.person, r.state, r.openedAt.slice(0, 19), r.expiresAt.slice(0, 19), r.backupId ?? `none (${r.secondSenior})`, r.reason.slice(0, 50)]))
            : 'no break-glass has ever been opened',
        );
      });
    });

  const n = program.command('notify').description('notifications: generic JSON webhook and Slack-compatible channels');
  n.command('test')
    .description('send a test message to every configured channel (exit 1 if any channel fails)')
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { notifyEvent } = await import('../notify/send.js');
      await withContext(cmd, async (ctx) => {
        if (ctx.loaded.config.notifications.webhooks.length === 0 && !ctx.loaded.config.notifications.email) throw new UsageError('no notification channels configured (notifications.webhooks in prodguard.yaml)', 'notify.none');
        const out = await notifyEvent(ctx, { event: 'notify.test', environment: null, summary: 'test message from prodguard notify test' });
        emit(opts, out, () => out.map((o) => `${o.webhook}: ${o.ok ? 'delivered' : `FAILED after ${o.attempts} attempt(s): ${o.error}`}`).join('\n'));
        const bad = out.filter((o) => !o.ok);
        if (bad.length) throw new RefusedError(`${bad.length} of ${out.length} channel(s) failed; recorded, see prodguard status`, 'notify.failed');
      });
    });
}

export function registerRunbookAndIncident(program: Command): void {
  program
    .command('runbook')
    .description('generate the incident runbook from the config and live state (contacts, restore/rollback commands, keys, drill, communication plan)')
    .addOption(choiceOption('--format <format>', 'runbook format', ['md', 'html'] as const, 'md'))
    .addOption(jsonOption('output JSON (the structured runbook)'))
    .action(async (opts: { format: 'md' | 'html'; json?: boolean }, cmd: Command) => {
      const { buildRunbook } = await import('../emergency/runbook.js');
      const { runbookMarkdown, runbookHtml } = await import('../emergency/runbook-render.js');
      await withContext(cmd, async (ctx) => {
        const rb = await buildRunbook(ctx);
        if (opts.json) emit(opts, rb, () => '');
        else process.stdout.write(opts.format === 'html' ? runbookHtml(rb) : runbookMarkdown(rb));
        for (const p of rb.problems) note(`runbook incomplete: ${p}`);
      });
    });

  const inc = program.command('incident').description('incident timeline: notes merged with the audit records of the period, exported for the post-mortem');
  inc.command('start').description('open an incident').argument('<title>').addOption(jsonOption())
    .action(async (title: string, opts: { json?: boolean }, cmd: Command) => {
      const { startIncident } = await import('../emergency/incident.js');
      await withContext(cmd, async (ctx) => {
        const i = await startIncident(ctx, title);
        emit(opts, i, () => `incident ${i.id} started: ${i.title}`);
      });
    });
  inc.command('note').description('add a note to the open incident').argument('<text>').addOption(jsonOption())
    .action(async (text: string, opts: { json?: boolean }, cmd: Command) => {
      const { noteIncident } = await import('../emergency/incident.js');
      await withContext(cmd, async (ctx) => {
        const i = await noteIncident(ctx, text);
        emit(opts, i.notes.at(-1), () => `noted (${i.notes.length} note(s) in ${i.id})`);
      });
    });
  inc.command('close').description('close the open incident').addOption(jsonOption())
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { closeIncident } = await import('../emergency/incident.js');
      await withContext(cmd, async (ctx) => {
        const i = await closeIncident(ctx);
        emit(opts, i, () => `incident ${i.id} closed`);
      });
    });
  inc.command('list').description('incidents, newest first').addOption(jsonOption())
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { listIncidents } = await import('../emergency/incident.js');
      await withContext(cmd, async (ctx) => {
        const all = await listIncidents(ctx);
        emit(opts, all, () => (all.length ? table(['id', 'title', 'started', 'closed', 'notes'], all.map((i) => [i.id, i.title.slice(0, 50), i.startedAt.slice(0, 19), i.closedAt?.slice(0, 19) ?? 'open', i.notes.length])) : 'no incidents'));
      });
    });
  inc.command('export').description('the timeline as markdown (the open incident, else the latest)').argument('[id]', 'incident id', 'current')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const { exportIncident } = await import('../emergency/incident.js');
      await withContext(cmd, async (ctx) => {
        process.stdout.write(await exportIncident(ctx, id));
      });
    });
}
