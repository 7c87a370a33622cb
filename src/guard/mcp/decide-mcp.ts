/**
 * Decisions for MCP tool calls. SQL a tool carries is classified by the SQL layer against the
 * target the tool's arguments and its server's configuration name (Supabase `project_id` /
 * `--project-ref`, a Postgres server's connection string); Supabase management tools that
 * destroy or rewind are refused; other tools of a server that can reach production are "ask".
 */
import type { LoadedConfig } from '../../config/load.js';
import { judgeFinding, type JudgedFinding } from '../decide.js';
import { judgeSql } from '../sql-judge.js';
import { resolveRef, resolveUrl, unknownTarget, type Env, type GuardScope, type Target } from '../target.js';
import { mcpServers, splitToolName, type McpServer } from './servers.js';

export interface McpCall {
  /** The tool name as the agent reports it (`mcp__supabase__execute_sql`, `MCP:supabase:execute_sql`, `execute_sql`). */
  tool: string;
  input: Record<string, unknown>;
  /** Server name when the agent reports it separately. */
  server?: string | null;
  /** A description of the server when the agent sends one (Cursor: url/command). */
  serverHint?: McpServer;
}

export interface McpVerdict {
  decision: 'allow' | 'deny' | 'ask';
  ruleId: string | null;
  reason: string;
  target?: JudgedFinding['target'];
}

/** Supabase MCP tools that destroy data or rewind a database (their project's backups do not cover all of it). */
export const SUPABASE_DESTRUCTIVE: Record<string, string> = {
  delete_branch: 'deletes a branch database',
  reset_branch: 'resets a branch database, discarding its data',
  merge_branch: 'merges a branch into production (runs its migrations there)',
  rebase_branch: 'rebases a branch, re-running migrations on it',
  pause_project: 'pauses the project (production goes offline)',
  restore_project: 'restores the project (rewinds its database)',
  delete_project: 'deletes the project with its database and backups',
};

const READ_ONLY_TOOL = /^(list|get|search|describe|read|show|explain|generate_typescript_types|fetch|confirm_cost|create_branch)(_|$)|_(list|get)$/;
const SQL_FIELDS = ['query', 'sql', 'statement', 'statements'];

function sqlOf(input: Record<string, unknown>): string | null | undefined {
  for (const f of SQL_FIELDS) {
    const v = input[f];
    if (typeof v === 'string') return v;
    if (Array.isArray(v)) return v.every((x) => typeof x === 'string') ? v.join(';\n') : null;
    if (v !== undefined) return null;
  }
  return undefined;
}

function findServer(cwd: string, env: Env, name: string | null, hint?: McpServer): McpServer | undefined {
  if (hint) return hint;
  if (!name) return undefined;
  const all = mcpServers(cwd, env.HOME);
  return all.find((s) => s.name === name) ?? all.find((s) => s.name.toLowerCase() === name.toLowerCase());
}

/** Where this call's database is: the tool's project_id / connection string, else its server's. */
function targetOf(scope: GuardScope, server: McpServer | undefined, input: Record<string, unknown>, supabaseLike: boolean): Target {
  const ref = typeof input.project_id === 'string' ? input.project_id : typeof input.project_ref === 'string' ? input.project_ref : server?.projectRef;
  const url = ['connectionString', 'connection_string', 'database_url', 'url'].map((k) => input[k]).find((v): v is string => typeof v === 'string' && /^postgres/i.test(v)) ?? server?.connStrings[0];
  if (supabaseLike && ref) return resolveRef(scope, ref, `Supabase project ${ref} (MCP ${server?.name ?? 'server'})`);
  if (url) return resolveUrl(scope, url, `connection string of MCP server ${server?.name ?? '?'}`);
  if (supabaseLike) return unknownTarget(`the Supabase MCP server${server ? ` ${server.name}` : ''} is not scoped to a project (--project-ref), so it can reach every project of the token`);
  return unknownTarget(server ? `MCP server ${server.name} names no database` : 'an MCP server that is not configured in .mcp.json / .cursor/mcp.json');
}

/** True when the server could reach a database that is production or unknown. */
function reachesProduction(scope: GuardScope, server: McpServer | undefined, serverName: string | null): boolean {
  if (!server) return /supa|postgres|pg|sql|db|neon|database/i.test(serverName ?? '');
  if (server.supabase) {
    if (!server.projectRef) return true;
    const t = resolveRef(scope, server.projectRef, 'MCP');
    return t.kind === 'production' || t.kind === 'unknown';
  }
  return server.connStrings.some((u) => {
    const t = resolveUrl(scope, u, 'MCP');
    return t.kind === 'production' || t.kind === 'unknown';
  });
}

export async function decideMcp(call: McpCall, ctx: { cwd: string; env: Env; loaded: LoadedConfig | null }): Promise<McpVerdict> {
  const split = splitToolName(call.tool);
  const serverName = call.server ?? split.server;
  const tool = split.tool;
  const server = findServer(ctx.cwd, ctx.env, serverName, call.serverHint);
  const scope: GuardScope = { cwd: ctx.cwd, env: ctx.env, loaded: ctx.loaded, files: new Map() };
  const supabaseLike = server?.supabase ?? (/supabase/i.test(serverName ?? '') || 'project_id' in call.input);
  const display = `${serverName ?? 'mcp'}.${tool}`;

  if (supabaseLike && SUPABASE_DESTRUCTIVE[tool]) {
    const t = targetOf(scope, server, call.input, true);
    return { decision: 'deny', ruleId: 'mcp-supabase-management', reason: `\`${display}\` ${SUPABASE_DESTRUCTIVE[tool]} (${describe(t)}). Do it from the Supabase dashboard with a second person, after \`prodguard backup create\`.`, target: pick(t) };
  }
  const sql = sqlOf(call.input);
  if (sql !== undefined) {
    const t = targetOf(scope, server, call.input, supabaseLike);
    const f = await judgeSql(sql, t, `MCP tool ${display}`);
    if (!f) return { decision: 'allow', ruleId: null, reason: `\`${display}\` runs nothing the guard objects to` };
    // apply_migration records the change in the migration history: at least a change.
    if (/migration/i.test(tool) && f.risk === 'read') f.risk = 'change';
    if (server?.readOnly && f.risk !== 'read') f.effect += ' (the server is in --read-only mode, but the guard does not rely on it)';
    const j = judgeFinding(ctx.loaded, /migration/i.test(tool) ? 'mcp-apply-migration' : 'mcp-sql', display, f);
    // backup-first cannot be honoured inside an MCP server: refuse and point to the guarded path.
    if (j.decision === 'backup-first') return { decision: 'deny', ruleId: j.ruleId, reason: `${j.reason.replace(/ Allowed after.*$/, '')} Run it through \`prodguard guard -- psql …\` so a verified backup is taken first.`, target: j.target };
    return { decision: j.decision === 'deny' ? 'deny' : 'allow', ruleId: j.decision === 'deny' ? j.ruleId : null, reason: j.reason, target: j.target };
  }
  if (READ_ONLY_TOOL.test(tool)) return { decision: 'allow', ruleId: null, reason: `\`${display}\` only reads` };
  if (reachesProduction(scope, server, serverName)) {
    return { decision: 'ask', ruleId: 'mcp-unknown-tool', reason: `\`${display}\` is an MCP tool prodguard does not know, and its server can reach production${server ? ` (${server.file})` : ''}: confirm it yourself.` };
  }
  return { decision: 'allow', ruleId: null, reason: `\`${display}\`: its server cannot reach a production database` };
}

function describe(t: Target): string {
  return t.kind === 'unknown' ? `target: ${t.via}` : `${t.label} (${t.kind})`;
}

function pick(t: Target): JudgedFinding['target'] {
  return { name: t.name, kind: t.kind, via: t.via, label: t.label };
}
