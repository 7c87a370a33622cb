/** Helpers shared by the command files: global options and the project context. */
import type { Command } from 'commander';
import type { Context } from '../context.js';

export interface GlobalOptions {
  config?: string;
  debug?: boolean;
}

export function globalOpts(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

/**
 * Loads prodguard.yaml (per --config or the nearest one) and opens the context. Imported lazily:
 * the config schema (zod) and YAML parser are a large part of start-up, and `--help`,
 * `--version` or the guard hook must not pay for them up front.
 */
export async function cliContext(cmd: Command): Promise<Context> {
  const { openContext } = await import('../context.js');
  return openContext({ configFile: globalOpts(cmd).config });
}

/** Runs `fn` with a context and always closes it. */
export async function withContext<T>(cmd: Command, fn: (ctx: Context) => Promise<T>): Promise<T> {
  const ctx = await cliContext(cmd);
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

/** Commander collects repeatable options with this. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Resolves on Ctrl-C or SIGTERM: how the long-running commands (serve, gateway) wait to stop. */
export function untilStopped(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
