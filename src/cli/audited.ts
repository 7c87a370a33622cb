/**
 * The one home of a command's audit record (the Hono-middleware idea): a command names its event
 * and says how its result reads; the wrapper runs the action and appends the record, so no
 * command builds an audit record by hand and the command line is always the one typed.
 * Layers audit the events only they can see (a guard decision, a deploy phase); a command wraps
 * only events its layer does not record, so one event is never written twice.
 */
import type { Command } from 'commander';
import type { Context } from '../context.js';
import { errorMessage } from '../errors.js';
import { withContext } from './common.js';

export interface Outcome {
  /** ok (default), failed, … */
  verdict?: string;
  reason: string;
  details?: Record<string, unknown>;
}

export interface AuditedEvent<T> {
  action: string;
  /** The environment concerned ('-' when none), or how to read it from the result. */
  target?: string | ((result: T) => string);
  /** How the action's result reads in the log. */
  outcome: (result: T) => Outcome;
  /** Also record a thrown error (verdict failed, its message as the reason). */
  recordFailure?: boolean;
}

/** The command line as typed (masked when written, src/audit/log.ts). */
export function commandLine(argv: readonly string[] = process.argv.slice(2)): string {
  return ['prodguard', ...argv].join(' ');
}

/** Runs `run` and records its outcome (and, with recordFailure, its failure) in ctx's audit log. */
export async function audited<T>(ctx: Context, event: AuditedEvent<T>, run: () => Promise<T> | T): Promise<T> {
  const base = { action: event.action, command: commandLine() };
  const target = (result?: T) => (typeof event.target === 'function' ? (result === undefined ? '-' : event.target(result)) : (event.target ?? '-'));
  let result: T;
  try {
    result = await run();
  } catch (err) {
    if (event.recordFailure) await ctx.audit({ ...base, target: target(), verdict: 'failed', reason: errorMessage(err) });
    throw err;
  }
  const o = event.outcome(result);
  await ctx.audit({ ...base, target: target(result), verdict: o.verdict ?? 'ok', reason: o.reason, ...(o.details ? { details: o.details } : {}) });
  return result;
}

/** `withContext` + `audited`: the usual shape of a command that changes or reports something. */
export function auditedAction<T>(cmd: Command, event: AuditedEvent<T>, run: (ctx: Context) => Promise<T>): Promise<T> {
  return withContext(cmd, (ctx) => audited(ctx, event, () => run(ctx)));
}
