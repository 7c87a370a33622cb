import type { Command } from 'commander';

/** Registers the `restore` command group (being built; see the issue tracker). */
export function registerRestore(_program: Command): void {}
