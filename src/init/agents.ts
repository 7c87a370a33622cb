/**
 * Which coding agents a project uses, from the files they leave in it — so `prodguard init`
 * wires the guard (and the read-only MCP door) into each of them, not only Claude Code.
 */
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';

export type AgentId = 'claude-code' | 'cursor' | 'gemini';
export const AGENTS: AgentId[] = ['claude-code', 'cursor', 'gemini'];

const SIGNS: Record<AgentId, string[]> = {
  'claude-code': ['.claude', 'CLAUDE.md', '.mcp.json'],
  cursor: ['.cursor', '.cursorrules'],
  gemini: ['.gemini', 'GEMINI.md'],
};

export function detectAgents(dir: string): Array<{ agent: AgentId; sign: string }> {
  const out: Array<{ agent: AgentId; sign: string }> = [];
  for (const agent of AGENTS) {
    const sign = SIGNS[agent].find((f) => existsSync(join(dir, f)));
    if (sign) out.push({ agent, sign });
  }
  return out;
}

/** Where each agent reads its project MCP servers from. */
const MCP_FILE: Record<AgentId, string> = { 'claude-code': '.mcp.json', cursor: '.cursor/mcp.json', gemini: '.gemini/settings.json' };

/**
 * Registers `prodguard mcp --env <env>` as the agent's MCP server "prodguard": read-only queries
 * through the gateway. The agent gets only a gateway login (PRODGUARD_GATEWAY_URL, expanded by the
 * agent from its environment), never the database password. Other servers and settings are kept.
 */
export function installMcpDoor(agent: AgentId, dir: string, env: string, command: string[]): { file: string; changed: boolean } {
  const file = join(dir, MCP_FILE[agent]);
  let settings: Record<string, unknown> = {};
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8');
    try {
      settings = text.trim() ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch (err) {
      throw new UsageError(`${file} is not valid JSON (${(err as Error).message}); fix it first, prodguard will not overwrite it`);
    }
    if (!settings || typeof settings !== 'object' || Array.isArray(settings)) throw new UsageError(`${file} must hold a JSON object`);
  }
  const servers = (settings.mcpServers && typeof settings.mcpServers === 'object' ? settings.mcpServers : {}) as Record<string, unknown>;
  const entry = { command: command[0], args: [...command.slice(1), 'mcp', '--env', env], env: { PRODGUARD_GATEWAY_URL: '${PRODGUARD_GATEWAY_URL}' } };
  const before = JSON.stringify(servers.prodguard ?? null);
  servers.prodguard = entry;
  settings.mcpServers = servers;
  const changed = before !== JSON.stringify(entry);
  if (changed) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(settings, null, 2) + '\n');
  }
  return { file, changed };
}
