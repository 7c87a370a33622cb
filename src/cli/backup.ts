import type { Command } from 'commander';

/** Registers the `backup` command group (being built; see the issue tracker). */
export function registerBackup(_program: Command): void {}
