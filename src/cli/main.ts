#!/usr/bin/env node
/**
 * The prodguard CLI. This file only wires commands; each group lives in its own file and
 * imports its layer lazily inside the action, so `prodguard hook claude-code` starts fast.
 */
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { EXIT, ProdguardError } from '../errors.js';
import { maskSecrets } from '../security/mask.js';
import { commandGroups } from './commands.js';

const require = createRequire(import.meta.url);
const { version } = require('../../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command('prodguard')
    .description('Makes it impossible to lose a production PostgreSQL / Supabase database.')
    .version(version, '-V, --version')
    .option('-c, --config <file>', 'path of prodguard.yaml (default: nearest in this or a parent directory)')
    .option('--debug', 'show stack traces on errors')
    .exitOverride()
    .configureOutput({ outputError: () => {} });
  for (const register of commandGroups) register(program);
  program.commands.forEach(function cascade(c: Command) {
    c.exitOverride();
    c.configureOutput({ outputError: () => {} });
    c.commands.forEach(cascade);
  });
  return program;
}

function fail(err: unknown, debug: boolean): never {
  if (err instanceof CommanderError) {
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
