import type { Command } from 'commander';

/** Registers the `migrate` command group (being built; see the issue tracker). */
export function registerMigrate(_program: Command): void {}
