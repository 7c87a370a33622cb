/** An agent's hook protocol: its JSON in, a ToolCall for the engine, the verdict back in its own JSON. */
import type { ToolCall, ToolVerdict } from '../tool-call.js';

export interface HookOutput {
  stdout: string;
  /** Exit code: 0, or 2 where the agent reads exit 2 as "block". */
  code: number;
  stderr: string;
}

export interface AgentAdapter {
  id: 'claude-code' | 'cursor' | 'gemini';
  /** Throws on input the adapter cannot read (the hook then denies). */
  parse(input: Record<string, unknown>, fallbackCwd: string): ToolCall;
  answer(v: Pick<ToolVerdict, 'decision' | 'reason'>): HookOutput;
}

export function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new Error(`${what} is not a string`);
  return v;
}

export function obj(v: unknown): Record<string, unknown> {
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      throw new Error('tool_input is not JSON');
    }
  }
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error('tool_input is not an object');
  return v as Record<string, unknown>;
}

/** Paths a file tool writes (Claude Code: file_path / notebook_path; Gemini: file_path / absolute_path; Cursor: file_path / path). */
export function filePaths(input: Record<string, unknown>): string[] {
  const out = ['file_path', 'notebook_path', 'absolute_path', 'path', 'target_file'].map((k) => input[k]).filter((x): x is string => typeof x === 'string');
  if (Array.isArray(input.edits)) for (const e of input.edits) if (e && typeof e === 'object' && typeof (e as { file_path?: unknown }).file_path === 'string') out.push((e as { file_path: string }).file_path);
  if (out.length === 0) throw new Error('the file tool input names no file');
  return out;
}
