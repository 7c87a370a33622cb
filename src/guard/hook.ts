/**
 * The agent hooks (Claude Code, Cursor, Gemini CLI) over one decision engine (tool-call.ts).
 * Never fails open: input the adapter cannot read, an internal error or a timeout all deny.
 */
import type { LoadedConfig } from '../config/load.js';
import type { Context } from '../context.js';
import type { GuardDecision } from './decide.js';
import { AGENTS, type AgentAdapter, type HookOutput } from './agents/index.js';
import type { ToolCall, ToolVerdict } from './tool-call.js';
import { fastAllow } from './fast-path.js';
import { errorMessage } from '../errors.js';

export interface HookAnswer {
  /** JSON to print on stdout, or '' to print nothing (allow). */
  stdout: string;
  /** Exit code and stderr the hook process must use. */
  code: number;
  stderr: string;
  /** The shell decision, when the tool call was a shell command. */
  decision: GuardDecision | null;
  verdict: ToolVerdict | null;
  /** Set when `accept` turned the call down (a daemon asked about a project it does not hold). */
  stale?: boolean;
}

export interface HookOptions {
  timeoutMs?: number;
  onDecision?: (v: ToolVerdict, loaded: LoadedConfig | null) => Promise<void>;
  /** The working directory when the input names none (default: this process's). */
  fallbackCwd?: string;
  /** Checked on the parsed call before anything is decided; false = answer `stale`, decide nothing. */
  accept?: (call: ToolCall) => boolean;
}

export function denyJson(reason: string): string {
  return JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'deny', permissionDecisionReason: reason } });
}

function refuse(agent: AgentAdapter, reason: string): HookAnswer {
  const o: HookOutput = agent.answer({ decision: 'deny', reason });
  return { ...o, decision: null, verdict: null };
}

/**
 * The answer for a plain data-only shell command (`git status`, `ls -la`), decided without a
 * config, a parser or a daemon; null for everything else (and for input it cannot read: the full
 * path refuses that with its message).
 */
export function fastAnswer(agentId: AgentAdapter['id'], stdinText: string, fallbackCwd: string): HookAnswer | null {
  const agent = AGENTS[agentId];
  try {
    const input = JSON.parse(stdinText) as unknown;
    if (!input || typeof input !== 'object' || Array.isArray(input)) return null;
    const call = agent.parse(input as Record<string, unknown>, fallbackCwd);
    if (call.kind !== 'shell' || !fastAllow(call.command.trim())) return null;
    return { ...agent.answer({ decision: 'allow', reason: '' }), decision: null, verdict: null };
  } catch {
    return null;
  }
}

/** The hook's logic on already-read stdin text (the CLI, the lean entry, the demo and tests call it). */
export async function agentHook(agentId: AgentAdapter['id'], stdinText: string, env: Record<string, string | undefined>, opts: HookOptions = {}): Promise<HookAnswer> {
  const agent = AGENTS[agentId];
  let call;
  try {
    const input = JSON.parse(stdinText) as unknown;
    if (!input || typeof input !== 'object' || Array.isArray(input)) throw new Error('not a JSON object');
    call = agent.parse(input as Record<string, unknown>, opts.fallbackCwd ?? process.cwd());
  } catch (err) {
    return refuse(agent, `prodguard could not read the hook input (${errorMessage(err)}); refusing to be safe.`);
  }
  if (opts.accept && !opts.accept(call)) return { stdout: '', code: 2, stderr: '', decision: null, verdict: null, stale: true };
  // A plain data-only command (`ls`, `git status`) is allowed before any config, parser or rule loads.
  if (call.kind === 'shell' && fastAllow(call.command.trim())) return { ...agent.answer({ decision: 'allow', reason: '' }), decision: null, verdict: null };
  const timeoutMs = opts.timeoutMs ?? 20_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const work = (async () => {
      const { projectConfig } = await import('./project.js');
      const { decideToolCall } = await import('./tool-call.js');
      const { loaded } = await projectConfig(call.cwd);
      const v = await decideToolCall(call, env, loaded);
      await opts.onDecision?.(v, loaded);
      return v;
    })();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no decision within ${timeoutMs} ms`)), timeoutMs);
    });
    const v = await Promise.race([work, timeout]);
    return { ...agent.answer(v), decision: v.guard ?? null, verdict: v };
  } catch (err) {
    return refuse(agent, `prodguard could not decide (${errorMessage(err)}); refusing to be safe.`);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** Claude Code's PreToolUse hook (kept for callers that predate the other agents). */
export function claudeCodeHook(stdinText: string, env: Record<string, string | undefined>, opts: { timeoutMs?: number; onDecision?: (d: GuardDecision, loaded: LoadedConfig | null) => Promise<void> } = {}): Promise<HookAnswer> {
  return agentHook('claude-code', stdinText, env, {
    timeoutMs: opts.timeoutMs,
    onDecision: async (v, loaded) => {
      if (v.guard) await opts.onDecision?.(v.guard, loaded);
    },
  });
}

/** Writes the audit record of a hook decision (shell decisions keep their full GuardDecision). */
export async function auditVerdict(v: ToolVerdict, loaded: LoadedConfig | null, integration: string, actor?: string, held?: Context): Promise<void> {
  const { auditDecision, syncAuditLog } = await import('./project.js');
  const d = v.guard ?? { command: v.command, decision: v.decision, reason: v.reason, ruleId: v.ruleId, target: v.target };
  await auditDecision(loaded, 'guard.hook', d, { integration }, actor, held);
  // A refusal's record reaches the disk before the agent hears the refusal.
  if (v.decision !== 'allow') syncAuditLog(loaded);
}
