import type { StatusCheck } from '../types.js';
import { errorMessage } from '../../errors.js';

/** Scorecard checks contributed by the sql layer. */
export const checks: StatusCheck[] = [
  {
    rule: 5,
    id: 'sql.migrations-lint-clean',
    title: 'migrations lint clean',
    async run(ctx) {
      try {
        const { defaultMigrationsDir, migrationFiles, lintFiles } = await import('../../sql/lint-files.js');
        const dir = defaultMigrationsDir(ctx.loaded.root, ctx.loaded.config.project.migrationsDir);
        if (!dir) return { state: 'missing', reason: `no migrations folder (${ctx.loaded.config.project.migrationsDir}, supabase/migrations or migrations/)` };
        const run = await lintFiles(migrationFiles([dir]), { cwd: ctx.loaded.root });
        const { errors, warnings, suppressed, files } = run.summary;
        const details = { files, errors, warnings, suppressed, firstErrors: run.findings.filter((f) => f.severity === 'error' && !f.suppressed).slice(0, 5).map((f) => `${f.file}:${f.line}:${f.column} ${f.ruleId}`) };
        if (errors > 0) return { state: 'failing', reason: `${errors} unsuppressed lint error(s) in ${files} migration(s); run \`prodguard lint\``, details };
        return { state: 'ok', reason: `${files} migration(s) lint clean (${warnings} warning(s), ${suppressed} suppressed with a reason)`, details };
      } catch (err) {
        return { state: 'failing', reason: `migrations cannot be linted: ${errorMessage(err)}` };
      }
    },
  },
];
