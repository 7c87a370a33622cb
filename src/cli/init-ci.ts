/**
 * `prodguard init ci --github`: for teams without a server, the scheduled workflow that runs the
 * daily backup and verify with the same job code as `serve`. A subcommand of `init` (what the
 * issue asks for); it calls the same generator as `jobs workflow --github`, which keeps working.
 */
import type { Command } from 'commander';
import { writeScheduleWorkflowCommand } from './serve.js';
import { forceOption, jsonOption } from './options.js';

export function registerInitCi(program: Command): void {
  const init = program.commands.find((c) => c.name() === 'init');
  if (!init) throw new Error('registerInitCi runs after registerInit');
  init
    .command('ci')
    .description('write .github/workflows/prodguard-schedule.yml: the daily backup and its verification on GitHub Actions, for teams without `prodguard serve`')
    .requiredOption('--github', 'GitHub Actions (the only CI supported so far)')
    .addOption(forceOption('workflow'))
    .addOption(jsonOption())
    .addHelpText('after', '\nThe crons are schedules.backup and schedules.verify (GitHub runs them in UTC). Set server.schedule: ci in\nprodguard.yaml so `prodguard status` expects the workflow. Same as `prodguard jobs workflow --github`.')
    .action((opts: { force?: boolean; json?: boolean }, cmd: Command) => {
      // `init` itself has --force and --json: commander hands them to the parent when they follow `ci`.
      const parent = cmd.parent?.opts() as { force?: boolean; json?: boolean } | undefined;
      return writeScheduleWorkflowCommand({ force: opts.force || parent?.force, json: opts.json || parent?.json }, cmd);
    });
}
