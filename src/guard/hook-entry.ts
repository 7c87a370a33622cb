/**
 * The one decision entry of an agent hook, whichever door it came through: the installed lean
 * entry (hook-main.ts) and `prodguard hook <agent>` (cli/guard.ts) both call `answerHook`, so the
 * two cannot decide differently. In order: a plain data-only command is answered at once (no
 * config, no parser); otherwise the resident decision process for this project answers
 * (daemon/server.ts); when there is none, one is started for the next call and this call is decided
 * in-process, with the same agentHook the daemon runs, and audited.
 *
 * Static imports stay small (agent adapters, fast path, the daemon client: node built-ins): this
 * module is on the installed hook's start-up path.
 */
import { viaDaemon, type DaemonAnswer } from './daemon/client.js';
import { agentHook, auditVerdict, fastAnswer } from './hook.js';

export type HookAgentId = 'claude-code' | 'cursor' | 'gemini';

/** How long the in-process decision may take before it denies (the agents give hooks 30–60 s). */
export const HOOK_DECISION_TIMEOUT_MS = 18_000;

/** The answer (stdout, stderr, exit code) for one hook call, given its stdin text. */
export async function answerHook(agentId: HookAgentId, stdinText: string, env: Record<string, string | undefined>, cwd: string): Promise<DaemonAnswer> {
  const ready = fastAnswer(agentId, stdinText, cwd) ?? (await viaDaemon(agentId, stdinText, env, cwd));
  if (ready) return { stdout: ready.stdout, stderr: ready.stderr, code: ready.code };
  const ans = await agentHook(agentId, stdinText, env, {
    timeoutMs: HOOK_DECISION_TIMEOUT_MS,
    fallbackCwd: cwd,
    onDecision: (v, loaded) => auditVerdict(v, loaded, agentId).catch(() => {}),
  });
  return { stdout: ans.stdout, stderr: ans.stderr, code: ans.code };
}
