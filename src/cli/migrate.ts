import type { Command } from 'commander';
import { withContext, globalOpts } from './common.js';
import { audited, auditedAction } from './audited.js';
import { emit, note, table } from './output.js';
import { RefusedError, UsageError } from '../errors.js';
import { envOption, forceOption, jsonOption, keyOption, reasonOption, yesOption } from './options.js';

/** Registers `migrate …`, `keys generate` and `staging refresh` (the migration pipeline; docs/migrations.md). */
export function registerMigrate(program: Command): void {
  const migrate = program.command('migrate').description('staging-first migrations with signed two-person approval and CI-only production deploys');

  migrate
    .command('status')
    .description('applied and pending migrations of an environment, and history drift')
    .addOption(envOption('any'))
    .addOption(jsonOption())
    .action(async (opts: { env: string; json?: boolean }, cmd: Command) => {
      const m = await import('../migrate/index.js');
      const outcome = (s: { applied: unknown[]; pending: unknown[]; drift: unknown[] }) => ({ reason: `${s.applied.length} applied, ${s.pending.length} pending, ${s.drift.length} drift` });
      await auditedAction(cmd, { action: 'migrate.status', target: opts.env, outcome }, async (ctx) => {
        m.requireEnv(ctx.loaded, opts.env);
        const s = await m.envState(ctx.loaded, opts.env);
        const data = {
          environment: s.environment,
          applied: s.applied,
          pending: s.pending.map((p) => ({ file: p.file, sha256: p.sha256 })),
          drift: s.drift,
          changeHash: s.pending.length ? s.change.hash : null,
        };
        emit(opts, data, () =>
          [
            `${s.environment}: ${s.applied.length} applied, ${s.pending.length} pending${s.pending.length ? ` (change ${s.change.hash.slice(0, 12)})` : ''}`,
            ...s.pending.map((p) => `  pending  ${p.file}`),
            ...s.drift.map((d) => `  drift    ${d}`),
          ].join('\n'),
        );
        return s;
      });
    });

  migrate
    .command('plan')
    .description('what would run on an environment: pending migrations, lint findings, risk, and (production) the deploy gate')
    .addOption(envOption('any'))
    .addOption(jsonOption())
    .action(async (opts: { env: string; json?: boolean }, cmd: Command) => {
      const m = await import('../migrate/index.js');
      type Plan = Awaited<ReturnType<typeof m.planChange>>;
      const outcome = (p: Plan) => ({ reason: `${p.state.pending.length} pending, risk ${p.lint.risk}`, details: { changeHash: p.state.pending.length ? p.state.change.hash : null } });
      await auditedAction(cmd, { action: 'migrate.plan', target: opts.env, outcome }, async (ctx) => {
        const p = await m.planChange(ctx, opts.env);
        const data = {
          environment: opts.env,
          changeHash: p.state.pending.length ? p.state.change.hash : null,
          pending: p.state.pending.map((f) => ({ file: f.file, sha256: f.sha256, transaction: !f.noTransaction })),
          risk: p.lint.risk,
          findings: p.lint.findings,
          carefulReview: p.lint.carefulReview,
          gate: p.gate ? { ok: p.gate.ok, checks: p.gate.checks } : null,
        };
        emit(opts, data, () => {
          if (!p.state.pending.length) return `${opts.env}: nothing pending`;
          const lines = [`${opts.env}: change ${p.state.change.hash.slice(0, 12)}, ${p.state.pending.length} migration(s), risk ${p.lint.risk}`];
          for (const f of p.state.pending) lines.push(`  ${f.file}${f.noTransaction ? '  (no-transaction)' : ''}`);
          for (const f of p.lint.findings) lines.push(`  ${f.file}:${f.line}:${f.column} ${f.severity} ${f.ruleId}${f.suppressed ? ` (suppressed: ${f.suppressed.reason})` : ''}: ${f.message}`);
          if (p.lint.carefulReview.length) {
            lines.push(`needs a careful reviewer (${p.lint.carefulReview.length}): what runs is not what the diff shows`);
            for (const f of p.lint.carefulReview) lines.push(`  ${f.file}:${f.line} ${f.ruleId}${f.suppressed ? ' (suppressed)' : ''}: ${f.message}`);
          }
          if (p.gate) for (const c of p.gate.checks) lines.push(`  gate ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
          return lines.join('\n');
        });
        return p;
      });
    });

  migrate
    .command('apply')
    .description('apply pending migrations to a staging environment and record that they passed there (production: use deploy)')
    .addOption(envOption('staging'))
    .option('--no-wait', 'refuse at once when another migration run holds the lock (default: wait for it)')
    .addOption(jsonOption())
    .action(async (opts: { env: string; json?: boolean; wait: boolean }, cmd: Command) => {
      const m = await import('../migrate/index.js');
      await withContext(cmd, async (ctx) => {
        const r = await m.applyToStaging(ctx, opts.env, { onMigration: (f) => note(`applying ${f}`), noWait: !opts.wait, onWait: (w) => note(w) });
        emit(opts, r, () =>
          r.applied.length === 0 ? `${opts.env}: nothing pending` : `${opts.env}: applied ${r.applied.map((a) => a.file).join(', ')}; change ${r.changeHash.slice(0, 12)} recorded as passed`,
        );
      });
    });

  migrate
    .command('request')
    .description('open the pending change of a production environment for approval, signed with your key (you are its author)')
    .addOption(envOption('production'))
    .addOption(keyOption('your private key file (a member of the policy in force)'))
    .addOption(jsonOption())
    .action(async (opts: { env: string; key: string; json?: boolean }, cmd: Command) => {
      const m = await import('../migrate/index.js');
      await withContext(cmd, async (ctx) => {
        const r = await m.requestChange(ctx, opts.env, { keyFile: opts.key });
        emit(opts, r, () =>
          `${r.created ? 'requested' : 'already requested'}: change ${r.change.hash.slice(0, 12)} for ${r.change.environment} by ${r.change.author} (${r.change.migrations.length} migration(s))\n` +
          `approve with: prodguard migrate approve ${r.change.hash.slice(0, 12)} --key <your key file>`,
        );
      });
    });

  migrate
    .command('approve <change>')
    .description('sign a requested change with your ed25519 key (written to the approvals directory)')
    .addOption(keyOption('your private key file (from prodguard keys generate)'))
    .option('--as <name>', 'team member name (default: the member whose public key matches the key)')
    .addOption(jsonOption())
    .action(async (change: string, opts: { key: string; as?: string; json?: boolean }, cmd: Command) => {
      const m = await import('../migrate/index.js');
      await withContext(cmd, async (ctx) => {
        const r = await m.approveChange(ctx, change, { keyFile: opts.key, as: opts.as });
        emit(opts, { file: r.file, approver: r.approval.approver, changeHash: r.approval.changeHash, environment: r.approval.environment, time: r.approval.time }, () => `${r.approval.approver} approved change ${r.approval.changeHash.slice(0, 12)} for ${r.approval.environment}: ${r.file}`);
      });
    });

  migrate
    .command('approvals <change>')
    .description('list the approvals of a change and why any of them does not count')
    .addOption(jsonOption())
    .action(async (change: string, opts: { json?: boolean }, cmd: Command) => {
      const { approvalStatus } = await import('../migrate/approval-status.js');
      const { hash, summary: s } = await withContext(cmd, (ctx) => approvalStatus(ctx, change));
      emit(opts, s, () =>
        [`change ${hash.slice(0, 12)}: ${s.validApprovers.length}/${s.required} valid approvals`, ...s.verdicts.map((v) => `  ${v.valid ? 'valid   ' : 'rejected'} ${v.approver ?? '?'}${v.reason ? `: ${v.reason}` : ''}`)].join('\n'),
      );
    });

  migrate
    .command('deploy')
    .description('deploy to production from CI: gate, fresh verified backup, transactional apply, verification')
    .addOption(envOption('production'))
    .option('--no-wait', 'refuse at once when another deploy holds the lock (default: wait for it)')
    .option('--allow-degraded-backup', 'deploy even if the pre-migration backup is missing on a destination (needs --reason; audited)')
    .addOption(reasonOption('why a degraded backup is acceptable (with --allow-degraded-backup)'))
    .addOption(jsonOption())
    .action(async (opts: { env: string; json?: boolean; wait: boolean; allowDegradedBackup?: boolean; reason?: string }, cmd: Command) => {
      const { deployNotified, verificationFailedError } = await import('../migrate/deploy-notified.js');
      await withContext(cmd, async (ctx) => {
        const r = await deployNotified(ctx, opts.env, { onPhase: (p) => note(p), noWait: !opts.wait, allowDegradedBackup: opts.allowDegradedBackup, degradedReason: opts.reason });
        emit(opts, r, () => {
          if (!r.applied.length) return `${opts.env}: nothing pending`;
          const lines = [`${opts.env}: deployed ${r.applied.map((a) => a.file).join(', ')} (pre-migration backup ${r.backupId})`];
          if (r.verification) lines.push(r.verification.ok ? `verified: schema equals ${r.verification.staging}'s, health checks passed` : `VERIFICATION FAILED:\n  ${r.verification.lines.join('\n  ')}`);
          return lines.join('\n');
        });
        const unverified = verificationFailedError(r);
        if (unverified) throw unverified;
      });
    });

  migrate
    .command('verify')
    .description("check production's schema equals staging's (differences listed) and run the health checks")
    .addOption(envOption('production'))
    .option('--staging <env>', 'the staging environment to compare with')
    .addOption(jsonOption())
    .action(async (opts: { env: string; staging?: string; json?: boolean }, cmd: Command) => {
      const m = await import('../migrate/index.js');
      await withContext(cmd, async (ctx) => {
        const r = await m.verifyDeploy(ctx, opts.env, { staging: opts.staging });
        const note = r.productionRecordProblem ? `\nnote: the outcome is not recorded in ${opts.env} itself (${r.productionRecordProblem}); status confirms verification only from production's record` : '';
        emit(opts, r, () => (r.ok ? `${opts.env}: schema equals ${r.staging}'s; ${r.health.length} health check(s) passed` : `${opts.env}: ${r.lines.length} problem(s)\n  ${r.lines.join('\n  ')}`) + note);
        if (!r.ok) throw new RefusedError(`verification of ${opts.env} failed: ${r.lines.length} problem(s)`, 'migrate.verify-failed');
      });
    });

  migrate
    .command('drift')
    .description('replay the migrations in a throw-away cluster and compare with the live production and staging schemas')
    .addOption(envOption('any', { required: false, many: true, description: 'environments to check (default: every production and staging one with a connection)' }))
    .addOption(jsonOption())
    .action(async (opts: { env?: string[]; json?: boolean }, cmd: Command) => {
      const m = await import('../migrate/index.js');
      await withContext(cmd, async (ctx) => {
        for (const e of opts.env ?? []) m.requireEnv(ctx.loaded, e);
        const r = await m.detectDrift(ctx, { environments: opts.env });
        emit(opts, r, () =>
          r.map((e) => (e.lines.length || e.historyDrift.length ? `${e.environment}: DRIFT\n  ${[...e.historyDrift, ...e.lines].join('\n  ')}` : `${e.environment}: no drift (${e.replayed} migration(s) replayed)`)).join('\n'),
        );
        const n = r.reduce((a, e) => a + e.lines.length + e.historyDrift.length, 0);
        if (n > 0) await (await import('../notify/send.js')).notifyEvent(ctx, { event: 'drift.detected', environment: r.filter((e) => e.lines.length || e.historyDrift.length).map((e) => e.environment).join(', '), summary: `schema drift: ${n} difference(s)` });
        if (n > 0) throw new RefusedError(`drift found: ${n} difference(s)`, 'migrate.drift');
      });
    });

  migrate
    .command('ci')
    .description('write the CI pipeline (lint on PRs without secrets, staging on merge, OIDC-proved production deploy job)')
    .option('--github', 'GitHub Actions (.github/workflows/prodguard.yml)')
    .option('--gitlab', 'GitLab CI (.gitlab-ci.yml)')
    .addOption(forceOption('workflow'))
    .addOption(jsonOption())
    .action(async (opts: { github?: boolean; gitlab?: boolean; force?: boolean; json?: boolean }, cmd: Command) => {
      if (!opts.github && !opts.gitlab) throw new UsageError('choose a CI system: --github or --gitlab');
      if (opts.github && opts.gitlab) throw new UsageError('choose one CI system: --github or --gitlab');
      const m = await import('../migrate/index.js');
      await auditedAction(cmd, { action: 'migrate.ci', outcome: (file: string) => ({ reason: `wrote ${file}` }) }, async (ctx) => {
        const envs = { force: opts.force, staging: m.envOfKind(ctx.loaded, 'staging'), production: m.envOfKind(ctx.loaded, 'production') };
        const file = opts.gitlab ? m.writeGitlabPipeline(ctx.loaded, envs) : m.writeGithubWorkflow(ctx.loaded, envs);
        emit(opts, { file }, () => `wrote ${file}`);
        return file;
      });
    });

  const keys = program.command('keys').description('approver keys (ed25519)');
  keys
    .command('generate')
    .description('make an ed25519 key pair: the private key goes to a 0600 file, the public key is printed for team[].publicKey')
    .option('--name <name>', 'whose key (file name)', 'approver')
    .option('--out <dir>', 'directory for the private key file (default: $XDG_CONFIG_HOME/prodguard/keys, outside the repository)')
    .addOption(jsonOption())
    .action(async (opts: { name: string; out?: string; json?: boolean }, cmd: Command) => {
      const { generateKeys } = await import('../migrate/keys.js');
      const k = generateKeys({ name: opts.name, outDir: opts.out });
      if (k.insideRepo) {
        const how = k.insideRepo.exposure === 'ignored' ? 'ignored by git, but one copy of the repository away from a leak' : 'NOT ignored by git: add it to .gitignore now or move it';
        note(`warning: the private key ${k.privateKeyFile} is inside the repository ${k.insideRepo.root} (${how}); the default location is outside it`);
      }
      // Audited when run inside a project (keys can also be made on a machine without one).
      const { findConfigFile } = await import('../config/load.js');
      if (globalOpts(cmd).config || findConfigFile()) {
        await withContext(cmd, (ctx) =>
          audited(ctx, { action: 'keys.generate', outcome: () => ({ reason: `ed25519 key pair for ${k.name}; private key in ${k.privateKeyFile}`, details: { publicKey: k.publicKey } }) }, () => k),
        );
      }
      emit(opts, { name: k.name, keyFile: k.privateKeyFile, publicKey: k.publicKey }, () => `private key: ${k.privateKeyFile} (mode 0600; keep it secret, never commit it)\npublic key (put it in team[].publicKey for ${k.name}):\n${k.publicKey}`);
    });

  const staging = program.command('staging').description('staging as a masked replica of production');
  staging
    .command('refresh')
    .description('replace staging with the latest verified production backup, masked per config.staging.masking')
    .addOption(envOption('staging', { required: false }))
    .option('--from <env>', 'the production environment')
    .addOption(yesOption('confirm: everything in staging is replaced'))
    .addOption(jsonOption())
    .action(async (opts: { env?: string; from?: string; yes?: boolean; json?: boolean }, cmd: Command) => {
      const m = await import('../migrate/index.js');
      await withContext(cmd, async (ctx) => {
        const r = await m.refreshStaging(ctx, { staging: opts.env, from: opts.from, yes: !!opts.yes, onPhase: (p) => note(p) });
        emit(opts, r, () =>
          [
            `${r.environment} replaced from ${r.from} backup ${r.backupId} (data as of ${r.backupCreatedAt}); ${r.maskedColumns} column rule(s) masked, ${r.maskedRows} value(s)`,
            ...(r.rolesCreated.length ? [`roles created (NOLOGIN, no password): ${r.rolesCreated.join(', ')}`] : []),
            ...(r.schemaDifferences.length ? [`schema differs from ${r.from}:`, ...r.schemaDifferences.map((d) => `  ${d}`)] : [`schema equals ${r.from}'s`]),
          ].join('\n'),
        );
      });
    });
  staging
    .command('plan')
    .description('masking coverage: columns that look like personal data and the rule covering each (a refresh refuses while one is uncovered)')
    .addOption(envOption('staging', { required: false }))
    .addOption(jsonOption())
    .action(async (opts: { env?: string; json?: boolean }, cmd: Command) => {
      const { stagingCoverage, coverageLines } = await import('../migrate/staging-coverage.js');
      await withContext(cmd, async (ctx) => {
        const r = await stagingCoverage(ctx, opts.env);
        emit(opts, r, () => coverageLines(r).join('\n'));
        if (!r.ok) process.exitCode = 1;
      });
    });
}
