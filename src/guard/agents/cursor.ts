/**
 * Cursor hooks (`.cursor/hooks.json`): beforeShellExecution `{command, cwd}`, beforeMCPExecution
 * `{tool_name, tool_input (object or JSON text), url | command}`, preToolUse for file writes.
 * The answer is `{permission: allow|deny|ask, user_message, agent_message}`; deny also exits 2.
 */
import { describeServer } from '../mcp/servers.js';
import { filePaths, obj, str, type AgentAdapter } from './types.js';

export const FILE_TOOLS = ['Write', 'Edit', 'StrReplace', 'MultiEdit', 'Delete', 'EditNotebook'];

export const cursor: AgentAdapter = {
  id: 'cursor',
  parse(input, fallbackCwd) {
    const event = str(input.hook_event_name, 'hook_event_name');
    const roots = Array.isArray(input.workspace_roots) ? input.workspace_roots.filter((x): x is string => typeof x === 'string') : [];
    const cwd = typeof input.cwd === 'string' && input.cwd ? input.cwd : roots[0] ?? fallbackCwd;
    if (event === 'beforeShellExecution') return { kind: 'shell', command: str(input.command, 'command'), cwd };
    if (event === 'beforeMCPExecution') {
      const tool = str(input.tool_name, 'tool_name');
      const hint = typeof input.url === 'string' || typeof input.command === 'string' ? describeServer(/^MCP:([^:]+):/i.exec(tool)?.[1] ?? 'cursor-mcp', { url: input.url, command: input.command }, 'the hook input') : undefined;
      return { kind: 'mcp', tool, input: obj(input.tool_input), cwd, serverHint: hint && (hint.supabase || hint.connStrings.length) ? hint : undefined };
    }
    if (event === 'preToolUse') {
      const tool = str(input.tool_name, 'tool_name');
      const ti = obj(input.tool_input);
      if (tool === 'Shell' && typeof ti.command === 'string') return { kind: 'shell', command: ti.command, cwd };
      if (/^MCP:/i.test(tool)) return { kind: 'mcp', tool, input: ti, cwd };
      if (FILE_TOOLS.includes(tool)) return { kind: 'file', tool, paths: filePaths(ti), cwd };
      return { kind: 'other', tool, cwd };
    }
    throw new Error(`unexpected hook_event_name ${event}`);
  },
  answer(v) {
    const body = { permission: v.decision, decision: v.decision, user_message: v.reason, agent_message: v.reason };
    if (v.decision === 'allow') return { stdout: JSON.stringify({ permission: 'allow', decision: 'allow' }), code: 0, stderr: '' };
    return { stdout: JSON.stringify(body), code: v.decision === 'deny' ? 2 : 0, stderr: v.decision === 'deny' ? v.reason : '' };
  },
};
