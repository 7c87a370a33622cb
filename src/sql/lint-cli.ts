/**
 * `prodguard lint` on a lean path. Start-up is most of a lint run (a migration folder is a few
 * hundred statements, linted in tens of milliseconds), so src/cli/main.ts hands `lint` here
 * before it loads commander and every command's modules: this file parses the same flags with
 * node's own `parseArgs`, loads only the linter, and opens the project context (config, audit)
 * only when there is a prodguard.yaml to audit into. It behaves exactly as `src/cli/lint.ts`
 * (same flags, messages, output, exit codes, audit record); anything it does not handle itself
 * (`--help`, `--rules`, an unknown or malformed flag) returns false and the full CLI takes over,
 * so commander's own help and errors stay the only ones.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import moduleApi, { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { RefusedError, UsageError } from '../errors.js';

/**
 * Up to this much SQL the WebAssembly parser is compiled by V8's baseline compiler only
 * (Liftoff): its optimising tier costs more CPU to compile than it saves. Measured on the lint
 * corpus (bench/lint-corpus.ts): 280 kB, 508 statements, 0.55 s → 0.2 s of lint CPU; copied ten
 * times (2.8 MB, 5,080 statements) still 1.7 s instead of 2.1 s. Larger inputs keep the optimising tier.
 */
const BASELINE_ONLY_MAX_BYTES = 8 * 1024 * 1024;

/**
 * The same holds for V8's optimising JavaScript compiler (TurboFan) on a short run: it compiles
 * many functions that run a few hundred times and then never again. Up to BASELINE_ONLY_MAX_BYTES
 * of SQL a function must run ~15× longer in the interpreter before it is optimised (the interrupt
 * budget, 66 kB of bytecode by default); truly hot loops (the parser's string copies) still are.
 * Measured (CPU of the whole process, machine under load): lint corpus 0.33 s → 0.25 s; ten copies
 * of it (2.8 MB) 1.84 s → 1.09 s. `--no-opt` gave 0.30 s on the corpus, and makes a hot loop 16× slower.
 */
const SHORT_RUN_INTERRUPT_BUDGET = 1_000_000;

/** prodguard.yaml in this or a parent directory (as config/load.ts findConfigFile, without loading YAML and the schema). */
function nearestConfig(cwd: string): string | null {
  let dir = resolve(cwd);
  for (;;) {
    const candidate = join(dir, 'prodguard.yaml');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** Bytes of SQL the paths name (directories: their *.sql files), from the file system only; Infinity for standard input. */
function inputBytes(paths: string[]): number {
  let total = 0;
  for (const p of paths) {
    if (p === '-') return Infinity;
    try {
      const st = statSync(p);
      if (!st.isDirectory()) total += st.size;
      else for (const f of readdirSync(p)) if (f.endsWith('.sql')) total += statSync(join(p, f)).size;
    } catch {
      // a missing or unreadable path is reported by the linter itself
    }
  }
  return total;
}

/**
 * Writes to standard output and resolves once all of it is handed to the operating system. A
 * pipe takes 64 KiB at a time; the rest waits in Node's queue, and the error exit that follows a
 * failed lint (process.exit in src/cli/main.ts) would drop it: `prodguard lint --format json | jq`
 * got a cut JSON document. A closed reader (EPIPE) resolves too: nobody is left to read.
 */
function writeStdout(text: string): Promise<void> {
  return new Promise((resolve) => process.stdout.write(text, () => resolve()));
}

/**
 * Runs `prodguard lint <argv>`; false when the full CLI must handle these arguments. Throws the
 * CLI's errors (UsageError, RefusedError) for src/cli/main.ts to report.
 */
export async function lintCommand(argv: string[]): Promise<boolean> {
  // Node 22.1+ keeps V8's compiled code of the modules loaded below between runs; Node 20 has no such cache.
  (moduleApi as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        format: { type: 'string' },
        json: { type: 'boolean' },
        'no-transaction': { type: 'boolean' },
        'postgres-version': { type: 'string' },
        runner: { type: 'string' },
        config: { type: 'string', short: 'c' },
        debug: { type: 'boolean' },
      },
    });
  } catch {
    return false;
  }
  const { values: v, positionals: paths } = parsed;
  const format = v.json ? 'json' : (v.format ?? 'text');
  if (!['text', 'json', 'sarif'].includes(format)) throw new UsageError(`--format must be text or json or sarif, got "${format}"`);
  const { parseRunner, detectRunner } = await import('./runner.js');
  if (v.runner !== undefined && !parseRunner(v.runner)) throw new UsageError(`--runner must be prisma, supabase, prodguard, flyway or none, got "${v.runner}"`);
  const postgresMajor = v['postgres-version'] === undefined ? undefined : Number(v['postgres-version']);
  if (postgresMajor !== undefined && !(Number.isInteger(postgresMajor) && postgresMajor >= 9 && postgresMajor < 100)) throw new UsageError(`--postgres-version must be a major version number such as 15, got "${v['postgres-version']}"`);
  const configFile = v.config ?? nearestConfig(process.cwd());

  const run = async (configured?: { root: string; dir?: string }) => {
    const root = configured?.root ?? process.cwd();
    let targets = paths;
    if (targets.length === 0) {
      const { defaultMigrationsDir } = await import('./lint-files.js');
      const dir = defaultMigrationsDir(root, configured?.dir);
      if (!dir) throw new UsageError('no migrations folder found (looked for the configured migrationsDir, supabase/migrations, migrations/); pass paths to lint');
      targets = [dir];
    }
    const runner = v.runner ? parseRunner(v.runner) : detectRunner(root)?.runner;
    // Before the parser module loads: V8 reads the flag when it compiles the WebAssembly, and
    // the budget when it first compiles each function of the linter.
    if (inputBytes(targets) <= BASELINE_ONLY_MAX_BYTES) {
      setFlagsFromString('--liftoff-only');
      setFlagsFromString(`--interrupt-budget=${SHORT_RUN_INTERRUPT_BUDGET}`);
    }
    const { readMigrationSources, lintSources, formatText, formatJson, formatSarif } = await import('./lint-files.js');
    const result = await lintSources(readMigrationSources(targets), { ...(v['no-transaction'] ? { assumeInTransaction: false } : {}), ...(runner ? { runner } : {}), ...(postgresMajor !== undefined ? { postgresMajor } : {}) });
    let out: string;
    if (format === 'text') out = formatText(result) + '\n';
    else {
      const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
      out = JSON.stringify(format === 'json' ? formatJson(result) : formatSarif(result, version), null, 2) + '\n';
    }
    await writeStdout(out);
    return result;
  };

  if (!configFile) {
    const result = await run();
    if (result.summary.errors > 0) throw new RefusedError(`lint failed: ${result.summary.errors} error(s)`, 'lint.failed');
    return true;
  }
  // A project: the run is audited, as every command in it is (the context loads config and store).
  const { openContext } = await import('../context.js');
  const ctx = openContext({ configFile: v.config });
  try {
    const command = ['prodguard', 'lint', ...paths].join(' ');
    let result;
    try {
      result = await run({ root: ctx.loaded.root, dir: ctx.loaded.config.project.migrationsDir });
    } catch (err) {
      await ctx.audit({ action: 'sql.lint', command, target: '-', verdict: 'failed', reason: (err as Error).message });
      throw err;
    }
    const { summary, findings } = result;
    await ctx.audit({
      action: 'sql.lint',
      command,
      target: '-',
      verdict: summary.errors > 0 ? 'failed' : 'ok',
      reason: `${summary.files} file(s): ${summary.errors} error(s), ${summary.warnings} warning(s), ${summary.suppressed} suppressed`,
      details: {
        files: result.files,
        suppressed: findings.filter((f) => f.suppressed).map((f) => ({ file: f.file, line: f.line, ruleId: f.ruleId, reason: f.suppressed!.reason })),
      },
    });
    if (summary.errors > 0) throw new RefusedError(`lint failed: ${summary.errors} error(s)`, 'lint.failed');
  } finally {
    await ctx.close();
  }
  return true;
}
