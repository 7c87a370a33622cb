/**
 * The Claude Code PreToolUse hook. Reads the hook JSON, decides, and answers with
 * permissionDecision "deny" for deny and backup-first. It never fails open: bad input, an
 * internal error or a timeout all deny.
 */
import type { GuardDecision } from './decide.js';

export interface HookAnswer {
  /** JSON to print on stdout, or '' to print nothing (allow). */
  stdout: string;
  decision: GuardDecision | null;
}

export function denyJson(reason: string): string {
  return JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'deny', permissionDecisionReason: reason } });
}

export interface HookInput {
  tool_name?: unknown;
  tool_input?: { command?: unknown };
  cwd?: unknown;
}

/** The hook's logic on already-read stdin text (the demo and tests call it directly too). */
export async function claudeCodeHook(stdinText: string, env: Record<string, string | undefined>, opts: { timeoutMs?: number; onDecision?: (d: GuardDecision, loaded: import('../config/load.js').LoadedConfig | null) => Promise<void> } = {}): Promise<HookAnswer> {
  let input: HookInput;
  try {
    input = JSON.parse(stdinText) as HookInput;
    if (!input || typeof input !== 'object' || Array.isArray(input)) throw new Error('not a JSON object');
    if (typeof input.tool_name !== 'string') throw new Error('no tool_name');
  } catch (err) {
    return { stdout: denyJson(`prodguard could not read the hook input (${(err as Error).message}); refusing to be safe.`), decision: null };
  }
  if (input.tool_name !== 'Bash') return { stdout: '', decision: null };
  const command = input.tool_input?.command;
  if (typeof command !== 'string') return { stdout: denyJson('prodguard: the Bash tool input has no command string; refusing to be safe.'), decision: null };
  const cwd = typeof input.cwd === 'string' && input.cwd ? input.cwd : process.cwd();
  const timeoutMs = opts.timeoutMs ?? 20_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const work = (async () => {
      const { projectConfig } = await import('./project.js');
      const { decide } = await import('./decide.js');
      const { loaded } = await projectConfig(cwd);
      const d = await decide({ command, cwd, env, config: loaded });
      await opts.onDecision?.(d, loaded);
      return d;
    })();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no decision within ${timeoutMs} ms`)), timeoutMs);
    });
    const d = await Promise.race([work, timeout]);
    if (d.decision === 'allow') return { stdout: '', decision: d };
    const reason = d.decision === 'backup-first'
      ? `${d.reason} Run it through prodguard so the backup is taken and verified first: prodguard guard -- ${command}`
      : `${d.reason} (prodguard rule ${d.ruleId})`;
    return { stdout: denyJson(reason), decision: d };
  } catch (err) {
    return { stdout: denyJson(`prodguard could not decide (${(err as Error).message}); refusing to be safe.`), decision: null };
  } finally {
    if (timer) clearTimeout(timer);
  }
}
