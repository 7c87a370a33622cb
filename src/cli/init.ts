import type { Command } from 'commander';

/** Registers the `init` command group (being built; see the issue tracker). */
export function registerInit(_program: Command): void {}
