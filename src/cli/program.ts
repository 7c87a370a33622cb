/**
 * The commander tree of `prodguard`: global options and every command group. Its own module so
 * the CLI reference (docs/cli.md, src/cli/docs.ts) is generated from the very tree main.ts runs.
 */
import { Command } from 'commander';
import { createRequire } from 'node:module';
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
