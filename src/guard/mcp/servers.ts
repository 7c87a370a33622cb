/**
 * What an MCP server can reach, from the agents' MCP configuration: `.mcp.json` (Claude Code),
 * `.cursor/mcp.json` (Cursor), `.gemini/settings.json` (Gemini CLI), and the user-level
 * `~/.claude.json` / `~/.cursor/mcp.json`. A server is described by its command line, URL and
 * environment; we read the Supabase project ref, `--read-only`, and connection strings from them.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface McpServer {
  name: string;
  /** The file it was configured in. */
  file: string;
  /** Command and arguments (stdio servers) or URL (remote servers), as one list of words. */
  words: string[];
  env: Record<string, string>;
  url?: string;
  supabase: boolean;
  readOnly: boolean;
  projectRef?: string;
  /** postgres:// connection strings in its arguments or environment. */
  connStrings: string[];
}

interface RawServer {
  command?: unknown;
  args?: unknown;
  url?: unknown;
  httpUrl?: unknown;
  serverUrl?: unknown;
  env?: unknown;
  headers?: unknown;
}

export const MCP_CONFIG_FILES = ['.mcp.json', '.cursor/mcp.json', '.gemini/settings.json', '.vscode/mcp.json'];

function readJson(file: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []);
const record = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
};

export function describeServer(name: string, raw: RawServer, file: string): McpServer {
  const url = [raw.url, raw.httpUrl, raw.serverUrl].find((x): x is string => typeof x === 'string');
  const words = [...strings(raw.command), ...strings(raw.args), ...(url ? [url] : [])];
  const env = { ...record(raw.env), ...record(raw.headers) };
  const all = [...words, ...Object.values(env)].join(' ');
  const supabase = /@supabase\/mcp-server-supabase|mcp\.supabase\.com|supabase-mcp/i.test(all);
  const readOnly = words.includes('--read-only') || /[?&]read_only=true\b/i.test(url ?? '') || /^(1|true)$/i.test(env.SUPABASE_READ_ONLY ?? '');
  let projectRef: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const m = /^--project[-_]ref(?:=(.+))?$/.exec(words[i]);
    if (m) projectRef = m[1] ?? words[i + 1];
  }
  projectRef ??= /[?&]project_ref=([a-z0-9]+)/i.exec(url ?? '')?.[1] ?? env.SUPABASE_PROJECT_REF;
  const connStrings = [...words, ...Object.values(env)].flatMap((w) => w.match(/postgres(?:ql)?:\/\/[^\s'"]+/gi) ?? []);
  return { name, file, words, env, url, supabase, readOnly, projectRef, connStrings };
}

/** Every MCP server configured for this project (project files first, then the user's). */
export function mcpServers(cwd: string, home = process.env.HOME ?? homedir()): McpServer[] {
  const out: McpServer[] = [];
  const add = (file: string, servers: unknown) => {
    if (!servers || typeof servers !== 'object') return;
    for (const [name, raw] of Object.entries(servers as Record<string, unknown>)) if (raw && typeof raw === 'object') out.push(describeServer(name, raw as RawServer, file));
  };
  for (const f of MCP_CONFIG_FILES) {
    const j = readJson(join(cwd, f));
    if (j) add(join(cwd, f), j.mcpServers ?? j.servers);
  }
  const user = readJson(join(home, '.claude.json'));
  if (user) {
    add(join(home, '.claude.json'), user.mcpServers);
    const projects = user.projects as Record<string, { mcpServers?: unknown }> | undefined;
    if (projects?.[cwd]) add(join(home, '.claude.json'), projects[cwd].mcpServers);
  }
  for (const f of ['.cursor/mcp.json', '.gemini/settings.json']) {
    const j = readJson(join(home, f));
    if (j) add(join(home, f), j.mcpServers);
  }
  return out;
}

/** Agents name MCP tools `mcp__server__tool` (Claude Code, Gemini), `MCP:server:tool` or `server__tool`. */
export function splitToolName(name: string): { server: string | null; tool: string } {
  let m = /^mcp__(.+?)__(.+)$/.exec(name);
  if (m) return { server: m[1], tool: m[2] };
  m = /^MCP:([^:]+):(.+)$/i.exec(name);
  if (m) return { server: m[1], tool: m[2] };
  m = /^(.+?)__(.+)$/.exec(name);
  if (m) return { server: m[1], tool: m[2] };
  return { server: null, tool: name };
}
