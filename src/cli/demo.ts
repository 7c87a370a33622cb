import type { Command } from 'commander';

/** Registers the `demo` command group (being built; see the issue tracker). */
export function registerDemo(_program: Command): void {}
