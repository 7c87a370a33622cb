/**
 * How PostgreSQL (archive_command) and scripts call this very prodguard: the same node binary and
 * entry point that is running now — the built dist/cli/main.js, or the TypeScript sources through
 * tsx in a development checkout. PRODGUARD_BIN overrides it (e.g. a wrapper script on the DB host).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export function prodguardCommand(env: Record<string, string | undefined> = process.env): string[] {
  if (env.PRODGUARD_BIN) return [env.PRODGUARD_BIN];
  const built = join(repo, 'dist/cli/main.js');
  const source = join(repo, 'src/cli/main.ts');
  if (import.meta.url.endsWith('.ts') || !existsSync(built)) {
    return [process.execPath, '--import', join(repo, 'node_modules/tsx/dist/loader.mjs'), source];
  }
  return [process.execPath, built];
}

/** POSIX shell quoting (for commands PostgreSQL runs through /bin/sh): src/os/shell-quote.ts. */
export { shellQuote } from '../../os/shell-quote.js';
