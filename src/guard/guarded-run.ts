/**
 * `prodguard guard -- <command>`: decide, then refuse (audited and notified), take a fresh
 * verified backup first, or run the command — in that order, every outcome audited once.
 * Returns the command's exit code; a refusal is a RefusedError.
 */
import { decide } from './decide.js';
import { projectConfig, auditDecision } from './project.js';
import { runCommand, ensureFreshVerifiedBackup } from './run.js';
import { shellQuote } from './wrappers/words.js';
import { applyBreakGlassGrant, type GrantedDecision } from './break-glass-grant.js';
import { currentActor } from '../audit/actor.js';
import { RefusedError, errorMessage } from '../errors.js';
import { notifyEvent } from '../notify/send.js';
import { contextFrom } from '../context.js';

export interface GuardedRunOptions {
  cwd: string;
  /** --config, when given. */
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Progress of the backup taken first. */
  say: (line: string) => void;
}

/** The decision for `command` in `cwd`, with an open break-glass grant applied. */
export async function guardDecision(command: string, opts: { cwd: string; configFile?: string; env?: NodeJS.ProcessEnv; explain?: boolean }) {
  const { loaded, problem } = await projectConfig(opts.cwd, opts.configFile);
  const d = await decide({ command, cwd: opts.cwd, env: opts.env ?? process.env, config: loaded }, { explain: opts.explain });
  return { loaded, problem, decision: await applyBreakGlassGrant(loaded, d, currentActor()) };
}

export async function guardedRun(argv: string[], opts: GuardedRunOptions): Promise<number> {
  const command = argv.length === 1 ? argv[0] : argv.map(shellQuote).join(' ');
  const { loaded, decision: d } = await guardDecision(command, opts);
  if (d.decision === 'deny') {
    await auditDecision(loaded, 'guard.run', d, { ran: false });
    await notifyBlocked(loaded, d);
    throw new RefusedError(`refused: ${d.reason}`, 'guard.deny');
  }
  let backupId: string | undefined;
  if (d.decision === 'backup-first') {
    if (!loaded || !d.target.name) {
      await auditDecision(loaded, 'guard.run', d, { ran: false });
      throw new RefusedError(`refused: ${d.reason} — but no configured environment to back up`, 'guard.deny');
    }
    try {
      backupId = (await ensureFreshVerifiedBackup(loaded, d.target.name, `before: ${command}`, opts.say)).backupId;
    } catch (err) {
      await auditDecision(loaded, 'guard.run', { ...d, decision: 'deny', reason: `backup first failed: ${errorMessage(err)}` }, { ran: false });
      throw err instanceof RefusedError ? err : new RefusedError(`refused: the backup before this command failed: ${errorMessage(err)}`, 'guard.backup');
    }
  }
  await auditDecision(loaded, 'guard.run', d, { ran: true, backupId, ...(d.grantId ? { grant: d.grantId } : {}) });
  return runCommand(argv, opts.cwd);
}

async function notifyBlocked(loaded: Awaited<ReturnType<typeof projectConfig>>['loaded'], d: GrantedDecision): Promise<void> {
  if (!loaded) return;
  const ctx = contextFrom(loaded);
  await notifyEvent(ctx, { event: 'guard.blocked', environment: d.target.name, summary: `blocked for ${currentActor()}: ${d.reason}` }).finally(() => ctx.close());
}
