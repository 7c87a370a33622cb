/**
 * Gemini CLI BeforeTool (`.gemini/settings.json`): `tool_name` run_shell_command / write_file /
 * replace / MCP tools, `tool_input`, `cwd`. Deny is exit 2 with the reason on stderr (and a JSON
 * `{decision: "deny"}`); Gemini has no "ask" for hooks, so ask is a deny that says so.
 */
import { filePaths, obj, str, type AgentAdapter } from './types.js';

export const FILE_TOOLS = ['write_file', 'replace', 'edit', 'write_new_file'];
export const MATCHER = `run_shell_command|${FILE_TOOLS.join('|')}|mcp_.*|.*__.*`;

export const gemini: AgentAdapter = {
  id: 'gemini',
  parse(input, fallbackCwd) {
    const tool = str(input.tool_name, 'tool_name');
    const cwd = typeof input.cwd === 'string' && input.cwd ? input.cwd : fallbackCwd;
    const ti = obj(input.tool_input);
    if (tool === 'run_shell_command') {
      if (typeof ti.command !== 'string') throw new Error('run_shell_command input has no command string');
      const dir = typeof ti.directory === 'string' && ti.directory ? (ti.directory.startsWith('/') ? ti.directory : `${cwd}/${ti.directory}`) : cwd;
      return { kind: 'shell', command: ti.command, cwd: dir };
    }
    if (FILE_TOOLS.includes(tool)) return { kind: 'file', tool, paths: filePaths(ti), cwd };
    if (/^mcp_|__/.test(tool)) return { kind: 'mcp', tool, input: ti, cwd };
    return { kind: 'other', tool, cwd };
  },
  answer(v) {
    if (v.decision === 'allow') return { stdout: JSON.stringify({ decision: 'allow' }), code: 0, stderr: '' };
    const reason = v.decision === 'ask' ? `${v.reason} (Gemini CLI hooks cannot ask, so prodguard refuses; run it yourself if intended.)` : v.reason;
    return { stdout: JSON.stringify({ decision: 'deny', reason }), code: 2, stderr: reason };
  },
};
