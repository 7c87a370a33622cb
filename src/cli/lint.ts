import { createRequire } from 'node:module';
import type { Command } from 'commander';
import { UsageError, RefusedError } from '../errors.js';
import { auditedAction } from './audited.js';
import { emit } from './output.js';
import { choiceOption, intOption, jsonOption } from './options.js';
import { MIGRATION_RUNNERS, detectRunner, type MigrationRunner } from '../sql/runner.js';

interface LintFlags {
  format: 'text' | 'json' | 'sarif';
  rules?: boolean;
  json?: boolean;
  transaction: boolean;
  runner?: MigrationRunner;
  postgresVersion?: number;
}

/** Registers `prodguard lint [paths…]`: the migration linter (docs/sql.md). */
export function registerLint(program: Command): void {
  program
    .command('lint')
    .description('lint SQL migrations for dangerous operations (drops, locks, rewrites, data loss)')
    .argument('[paths...]', 'migration files or directories of *.sql, or - for standard input (default: the project’s migrations folder)')
    .addOption(choiceOption('--format <format>', 'output format', ['text', 'json', 'sarif'] as const, 'text'))
    .addOption(jsonOption('same as --format json'))
    .option('--rules', 'list the lint rules instead of linting')
    .option('--no-transaction', 'lint as if migrations run outside a transaction (default: each file runs in one)')
    .addOption(intOption('--postgres-version <major>', 'major version of the target server, for version-dependent rules (e.g. 11)', { min: 9, max: 99 }))
    .addOption(choiceOption('--runner <runner>', 'who applies the files (default: detected from the project)', MIGRATION_RUNNERS))
    .addHelpText('after', '\nExit codes: 0 clean (warnings allowed), 1 an unsuppressed error-level finding, 2 unparseable SQL or bad input.\nSuppress one statement with a comment line above it: -- prodguard-ignore <rule-id>: <reason>')
    .action(async (paths: string[], opts: LintFlags, cmd: Command) => {
      const format = opts.json ? 'json' : opts.format;
      if (opts.rules && format === 'sarif') throw new UsageError('--format must be text or json with --rules, got "sarif"');
      const { lintRules } = await import('../sql/index.js');
      if (opts.rules) {
        emit({ json: format === 'json' }, lintRules.map(({ id, severity, title, explanation, examples }) => ({ id, severity, title, explanation, examples })), () =>
          lintRules.map((r) => `${r.id.padEnd(46)} ${r.severity.padEnd(8)} ${r.title}`).join('\n'),
        );
        return;
      }
      const { findConfigFile } = await import('../config/load.js');
      const postgresMajor = opts.postgresVersion;
      const { defaultMigrationsDir, readMigrationSources, lintSources, formatText, formatJson, formatSarif } = await import('../sql/lint-files.js');
      const configFile = cmd.optsWithGlobals<{ config?: string }>().config ?? findConfigFile();
      const run = async (configured?: { root: string; dir: string }) => {
        let targets = paths;
        if (targets.length === 0) {
          const dir = defaultMigrationsDir(configured?.root ?? process.cwd(), configured?.dir);
          if (!dir) throw new UsageError('no migrations folder found (looked for the configured migrationsDir, supabase/migrations, migrations/); pass paths to lint');
          targets = [dir];
        }
        const runner = opts.runner ?? detectRunner(configured?.root ?? process.cwd())?.runner;
        const result = await lintSources(readMigrationSources(targets), { ...(opts.transaction ? {} : { assumeInTransaction: false }), ...(runner ? { runner } : {}), ...(postgresMajor !== undefined ? { postgresMajor } : {}) });
        if (format === 'text') process.stdout.write(formatText(result) + '\n');
        else {
          const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
          process.stdout.write(JSON.stringify(format === 'json' ? formatJson(result) : formatSarif(result, version), null, 2) + '\n');
        }
        return { targets, result };
      };
      if (!configFile) {
        const { result } = await run();
        if (result.summary.errors > 0) throw new RefusedError(`lint failed: ${result.summary.errors} error(s)`, 'lint.failed');
        return;
      }
      type Outcome = Awaited<ReturnType<typeof run>>;
      const outcome = ({ result }: Outcome) => ({
        verdict: result.summary.errors > 0 ? 'failed' : 'ok',
        reason: `${result.summary.files} file(s): ${result.summary.errors} error(s), ${result.summary.warnings} warning(s), ${result.summary.suppressed} suppressed`,
        details: {
          files: result.files,
          suppressed: result.findings.filter((f) => f.suppressed).map((f) => ({ file: f.file, line: f.line, ruleId: f.ruleId, reason: f.suppressed!.reason })),
        },
      });
      const { result } = await auditedAction(cmd, { action: 'sql.lint', outcome, recordFailure: true }, (ctx) => run({ root: ctx.loaded.root, dir: ctx.loaded.config.project.migrationsDir }));
      if (result.summary.errors > 0) throw new RefusedError(`lint failed: ${result.summary.errors} error(s)`, 'lint.failed');
    });
}
