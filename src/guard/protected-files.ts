/**
 * Files an agent must not write: prodguard's policy and state, the hooks that run the guard, the
 * agents' settings and MCP configuration, and the Supabase link. Editing any of them would
 * switch the guard off or point it elsewhere.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';

const PROTECTED: Array<{ pattern: RegExp; what: string }> = [
  { pattern: /(^|\/)prodguard\.ya?ml$/, what: "prodguard's policy" },
  { pattern: /(^|\/)\.prodguard(\/|$)/, what: "prodguard's state, keys, audit log and shims" },
  { pattern: /(^|\/)\.claude\/settings(\.local)?\.json$/, what: 'the Claude Code settings that install the guard hook' },
  { pattern: /(^|\/)\.claude\.json$/, what: "Claude Code's user settings and MCP servers" },
  { pattern: /(^|\/)\.cursor\/(hooks|mcp)\.json$/, what: "Cursor's hooks / MCP servers" },
  { pattern: /(^|\/)\.gemini\/settings\.json$/, what: "Gemini CLI's settings (hooks, MCP servers)" },
  { pattern: /(^|\/)\.mcp\.json$/, what: 'the MCP server configuration' },
  { pattern: /(^|\/)\.vscode\/mcp\.json$/, what: 'the MCP server configuration' },
  { pattern: /(^|\/)\.git\/hooks\//, what: 'the git hooks' },
  { pattern: /(^|\/)\.envrc$/, what: 'direnv (puts the guard shims on PATH)' },
  { pattern: /(^|\/)\.git\/config$/, what: 'the git configuration (aliases run commands)' },
  { pattern: /(^|\/)\.(bashrc|zshrc|profile|bash_profile|bash_login|zprofile|zshenv|zlogin|psqlrc)$|(^|\/)\.config\/fish\/config\.fish$/, what: 'a shell or psql startup file (it runs in later sessions the guard does not see)' },
];

/** Why writing this path is refused, or null when it may be written. */
export function protectedFile(path: string, cwd: string): string | null {
  if (path.startsWith('~/')) path = `/home/~/${path.slice(2)}`;
  const abs = isAbsolute(path) ? path : resolve(cwd, path);
  const rel = relative(cwd, abs).split(sep).join('/');
  const candidates = [abs.split(sep).join('/'), rel];
  for (const p of PROTECTED) if (candidates.some((c) => p.pattern.test(c))) return p.what;
  return null;
}
