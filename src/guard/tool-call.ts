/**
 * One decision engine for every agent: a tool call (shell command, MCP tool, file write) in,
 * allow / deny / ask out. The agent adapters (agents/*.ts) only translate their JSON to a
 * ToolCall and the verdict back.
 */
import type { LoadedConfig } from '../config/load.js';
import type { GuardDecision } from './decide.js';
import type { Env } from './target.js';
import { decide } from './decide.js';
import { decideMcp } from './mcp/decide-mcp.js';
import { protectedFile } from './protected-files.js';

export type ToolCall =
  | { kind: 'shell'; command: string; cwd: string }
  | { kind: 'mcp'; tool: string; server?: string | null; input: Record<string, unknown>; cwd: string; serverHint?: import('./mcp/servers.js').McpServer }
  | { kind: 'file'; tool: string; paths: string[]; cwd: string }
  | { kind: 'other'; tool: string; cwd: string };

export interface ToolVerdict {
  decision: 'allow' | 'deny' | 'ask';
  /** The shell decision said backup-first (the agent must run it through `prodguard guard --`). */
  backupFirst?: boolean;
  ruleId: string | null;
  reason: string;
  /** What was decided, for the audit log. */
  command: string;
  target: { name: string | null; kind: string; via: string };
  guard?: GuardDecision;
}

export async function decideToolCall(call: ToolCall, env: Env, loaded: LoadedConfig | null): Promise<ToolVerdict> {
  const none = { name: null, kind: 'none', via: '' };
  switch (call.kind) {
    case 'shell': {
      const d = await decide({ command: call.command, cwd: call.cwd, env, config: loaded });
      const reason = d.decision === 'backup-first' ? `${d.reason} Run it through prodguard so the backup is taken and verified first: prodguard guard -- ${call.command}` : d.decision === 'deny' ? `${d.reason} (prodguard rule ${d.ruleId})` : d.reason;
      return { decision: d.decision === 'allow' ? 'allow' : 'deny', backupFirst: d.decision === 'backup-first', ruleId: d.ruleId, reason, command: call.command, target: d.target, guard: d };
    }
    case 'mcp': {
      const v = await decideMcp(call, { cwd: call.cwd, env, loaded });
      return { decision: v.decision, ruleId: v.ruleId, reason: v.decision === 'allow' ? v.reason : `${v.reason} (prodguard rule ${v.ruleId})`, command: `mcp ${call.tool} ${JSON.stringify(call.input).slice(0, 500)}`, target: v.target ?? none };
    }
    case 'file': {
      for (const p of call.paths) {
        const what = protectedFile(p, call.cwd);
        if (what) return { decision: 'deny', ruleId: 'protected-file', reason: `${call.tool} of ${p} is refused: it is ${what}. Change it yourself, outside the agent (prodguard rule protected-file).`, command: `${call.tool} ${p}`, target: none };
      }
      return { decision: 'allow', ruleId: null, reason: `${call.tool} of ${call.paths.join(', ')}`, command: `${call.tool} ${call.paths.join(' ')}`, target: none };
    }
    default:
      return { decision: 'allow', ruleId: null, reason: `${call.tool} is not a tool the guard checks`, command: call.tool, target: none };
  }
}
