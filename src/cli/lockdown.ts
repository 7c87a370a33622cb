import type { Command } from 'commander';
import { withContext } from './common.js';
import { auditedAction } from './audited.js';
import { emit } from './output.js';
import { RefusedError, UsageError } from '../errors.js';
import type { Context } from '../context.js';
import { choiceOption, durationOption, envOption, jsonOption, reasonOption, yesOption } from './options.js';

function settings(ctx: Context) {
  const l = ctx.loaded.config.lockdown;
  return { schemas: l.schemas, applicationRoles: l.applicationRoles, readOnlyRole: l.readOnlyRole, deployerRole: l.deployerRole };
}

export function registerLockdown(program: Command): void {
  const ld = program.command('lockdown').description('roles, revokes and DROP/ALTER/TRUNCATE guards installed inside the database itself');
  const envOpt = (c: Command) => c.addOption(envOption('any'));

  envOpt(ld.command('plan').description('print the SQL that apply would run (from src/lockdown/sql/*.sql)')).action(async (opts: { env: string }, cmd: Command) => {
    const { planLockdown } = await import('../lockdown/lockdown.js');
    const { requireEnvironment } = await import('../config/connection.js');
    await withContext(cmd, async (ctx) => {
      requireEnvironment(ctx.loaded, opts.env);
      process.stdout.write(planLockdown(settings(ctx)).map((f) => `-- ${f.file}\n${f.sql.trim()}\n`).join('\n'));
    });
  });

  envOpt(ld.command('apply').description('install (or repair) the lockdown in one transaction; audited'))
    .addOption(jsonOption())
    .action(async (opts: { env: string; json?: boolean }, cmd: Command) => {
      const { applyLockdown } = await import('../lockdown/lockdown.js');
      const { connectionUrl } = await import('../config/connection.js');
      const { currentActor } = await import('../audit/actor.js');
      const outcome = (rec: { functions: Record<string, unknown> }) => ({ reason: `lockdown installed (${Object.keys(rec.functions).length} functions recorded)` });
      await auditedAction(cmd, { action: 'lockdown.apply', target: opts.env, outcome, recordFailure: true }, async (ctx) => {
        const rec = await applyLockdown(connectionUrl(ctx.loaded, opts.env), await ctx.store(), opts.env, settings(ctx), currentActor());
        emit(opts, rec, () => `lockdown applied to ${opts.env}: DROP/ALTER/TRUNCATE now need a deploy or break-glass token`);
        return rec;
      });
    });

  envOpt(ld.command('status').description('check the installed lockdown against the catalog: intact, tampered or absent (exit 1 unless intact)'))
    .addOption(jsonOption())
    .action(async (opts: { env: string; json?: boolean }, cmd: Command) => {
      const { lockdownStatus } = await import('../lockdown/lockdown.js');
      const { connectionUrl } = await import('../config/connection.js');
      await withContext(cmd, async (ctx) => {
        const st = await lockdownStatus(connectionUrl(ctx.loaded, opts.env), await ctx.store(), opts.env, settings(ctx));
        emit(opts, st, () => [`lockdown on ${opts.env}: ${st.state}`, ...st.problems.map((p) => `  - ${p}`)].join('\n'));
        if (st.state === 'tampered') throw new RefusedError(`lockdown on ${opts.env} was tampered with (${st.problems.length} problem(s))`, 'lockdown.tampered');
        if (st.state === 'absent') throw new RefusedError(`no lockdown on ${opts.env}; run prodguard lockdown apply --env ${opts.env}`, 'lockdown.absent');
      });
    });

  envOpt(ld.command('remove').description('take the lockdown out of the database (needs --yes; audited)'))
    .addOption(yesOption('really remove it'))
    .action(async (opts: { env: string; yes?: boolean }, cmd: Command) => {
      if (!opts.yes) throw new UsageError('lockdown remove takes away the database’s own protection; add --yes to confirm');
      const { removeLockdown } = await import('../lockdown/lockdown.js');
      const { connectionUrl } = await import('../config/connection.js');
      await auditedAction(cmd, { action: 'lockdown.remove', target: opts.env, outcome: () => ({ reason: 'lockdown removed' }) }, async (ctx) =>
        removeLockdown(connectionUrl(ctx.loaded, opts.env), await ctx.store(), opts.env),
      );
      process.stdout.write(`lockdown removed from ${opts.env}\n`);
    });

  envOpt(ld.command('token').description('issue a time-boxed token in the database; a session that SETs prodguard.token to it may DROP/ALTER/TRUNCATE'))
    .addOption(choiceOption('--kind <kind>', 'what the token is for', ['deploy', 'break-glass'] as const).makeOptionMandatory())
    .addOption(reasonOption('why', true))
    .addOption(durationOption('--ttl <duration>', 'lifetime, at most 4h', '15min'))
    .addOption(jsonOption())
    .action(async (opts: { env: string; kind: 'deploy' | 'break-glass'; reason: string; ttl: number; json?: boolean }, cmd: Command) => {
      const { issueLockdownToken } = await import('../lockdown/lockdown.js');
      const { connectionUrl } = await import('../config/connection.js');
      const { currentActor } = await import('../audit/actor.js');
      const outcome = (t: { expiresAt: string }) => ({ reason: `${opts.kind} token until ${t.expiresAt}: ${opts.reason}` });
      const t = await auditedAction(cmd, { action: 'lockdown.token', target: opts.env, outcome }, (ctx) =>
        issueLockdownToken(connectionUrl(ctx.loaded, opts.env), { kind: opts.kind, ttlMs: opts.ttl, person: currentActor(), reason: opts.reason }),
      );
      // The token is printed once, to stdout only, after its record is written; the audit log has its expiry, never its value.
      if (opts.json) process.stdout.write(JSON.stringify({ token: t.token, expiresAt: t.expiresAt }) + '\n');
      else process.stdout.write(`SET prodguard.token = '${t.token}';  -- valid until ${t.expiresAt}\n`);
    });
}
