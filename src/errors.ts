/**
 * Errors that reach the user. Every failure prodguard reports is one of these, so the CLI can
 * print one clear line and pick the documented exit code (docs/cli.md#exit-codes):
 *   0 ok · 1 refused / failed check · 2 usage or configuration error · 3 backup-first (guard).
 */
export const EXIT = { ok: 0, refused: 1, usage: 2, backupFirst: 3 } as const;

export class ProdguardError extends Error {
  readonly exitCode: number;
  /** Machine-readable code for --json output (e.g. "config.invalid", "env.unknown"). */
  readonly code: string;
  constructor(message: string, opts: { exitCode?: number; code?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ProdguardError';
    this.exitCode = opts.exitCode ?? EXIT.refused;
    this.code = opts.code ?? 'error';
  }
}

/** Bad input: unknown command/environment, unreadable or invalid config, missing tools. Exit 2. */
export class UsageError extends ProdguardError {
  constructor(message: string, code = 'usage', cause?: unknown) {
    super(message, { exitCode: EXIT.usage, code, cause });
    this.name = 'UsageError';
  }
}

/** Something was refused or a check failed (guard deny, verify failed, gate not met). Exit 1. */
export class RefusedError extends ProdguardError {
  constructor(message: string, code = 'refused', cause?: unknown) {
    super(message, { exitCode: EXIT.refused, code, cause });
    this.name = 'RefusedError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
