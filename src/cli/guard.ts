import type { Command } from 'commander';

/** Registers the `guard` command group (being built; see the issue tracker). */
export function registerGuard(_program: Command): void {}
