/**
 * Claude Code PreToolUse: `tool_name` Bash / mcp__server__tool / Write|Edit|MultiEdit|NotebookEdit,
 * `tool_input`, `cwd`. Deny and ask are `hookSpecificOutput.permissionDecision`; allow prints nothing.
 */
import { filePaths, obj, str, type AgentAdapter } from './types.js';

export const FILE_TOOLS = ['Write', 'Edit', 'MultiEdit', 'NotebookEdit'];
export const MATCHER = `Bash|mcp__.*|${FILE_TOOLS.join('|')}`;

export const claudeCode: AgentAdapter = {
  id: 'claude-code',
  parse(input, fallbackCwd) {
    const tool = str(input.tool_name, 'tool_name');
    const cwd = typeof input.cwd === 'string' && input.cwd ? input.cwd : fallbackCwd;
    const ti = obj(input.tool_input);
    if (tool === 'Bash') {
      if (typeof ti.command !== 'string') throw new Error('the Bash tool input has no command string');
      return { kind: 'shell', command: ti.command, cwd };
    }
    if (tool.startsWith('mcp__')) return { kind: 'mcp', tool, input: ti, cwd };
    if (FILE_TOOLS.includes(tool)) return { kind: 'file', tool, paths: filePaths(ti), cwd };
    return { kind: 'other', tool, cwd };
  },
  answer(v) {
    if (v.decision === 'allow') return { stdout: '', code: 0, stderr: '' };
    return { stdout: JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: v.decision, permissionDecisionReason: v.reason } }), code: 0, stderr: '' };
  },
};
