import type { Command } from 'commander';

/** Registers the `lint` command group (being built; see the issue tracker). */
export function registerLint(_program: Command): void {}
