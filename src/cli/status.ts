import type { Command } from 'commander';

/** Registers the `status` command group (being built; see the issue tracker). */
export function registerStatus(_program: Command): void {}
