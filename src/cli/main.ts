#!/usr/bin/env node
/**
 * The prodguard CLI. This file only wires commands; each group lives in its own file and
 * imports its layer lazily inside the action, so `prodguard hook claude-code` starts fast.
 */
import { statSync } from 'node:fs';
import { EXIT, ProdguardError } from '../errors.js';
import { maskSecrets } from '../security/mask.js';

/**
 * The lean lint path as one file when `npm run build` bundled it (scripts/bundle-lint.mjs) and
 * the bundle is not older than the modules it was made from; else the modules themselves (tsx in
 * the tests, or a bare `tsc` after an edit).
 */
function lintEntry(): string {
  try {
    const bundle = statSync(new URL('../sql/lint-cli.bundle.js', import.meta.url));
    if (bundle.mtimeMs >= statSync(new URL('../sql/lint-cli.js', import.meta.url)).mtimeMs) return '../sql/lint-cli.bundle.js';
  } catch {
    // no bundle (or no build at all): the modules
  }
  return '../sql/lint-cli.js';
}

/** CommanderError and its subclasses (without importing commander): each has a `commander.*` code. */
const isCommanderError = (err: unknown): err is Error & { code: string } =>
  err instanceof Error && String((err as { code?: unknown }).code ?? '').startsWith('commander.');

function fail(err: unknown, debug: boolean): never {
  if (isCommanderError(err)) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') process.exit(EXIT.ok);
    process.stderr.write(`prodguard: ${err.message.replace(/^error: /, '')} (see --help)\n`);
    process.exit(EXIT.usage);
  }
  if (err instanceof ProdguardError) {
    process.stderr.write(`prodguard: ${maskSecrets(err.message)}\n`);
    if (debug && err.stack) process.stderr.write(maskSecrets(err.stack) + '\n');
    process.exit(err.exitCode);
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`prodguard: internal error: ${maskSecrets(message)}${debug ? '' : ' (run with --debug for details)'}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(maskSecrets(err.stack) + '\n');
  process.exit(EXIT.refused);
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const debug = argv.includes('--debug');
  // `prodguard lint` takes a lean path that loads only the linter (src/sql/lint-cli.ts); it hands
  // back anything it does not handle itself (--help, --rules, a bad flag) to the full CLI.
  if (argv[2] === 'lint') {
    try {
      const { lintCommand } = (await import(lintEntry())) as typeof import('../sql/lint-cli.js');
      if (await lintCommand(argv.slice(3))) return;
    } catch (err) {
      fail(err, debug);
    }
  }
  // commander and the command tree are imported on use: `prodguard lint` (above) runs without them.
  const { buildProgram } = await import('./program.js');
  const program = buildProgram();
  if (argv.length <= 2) {
    program.outputHelp();
    process.exit(EXIT.usage);
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    fail(err, debug);
  }
}

process.on('unhandledRejection', (err) => fail(err, process.argv.includes('--debug')));
await main();
