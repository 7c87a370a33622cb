/**
 * Production credentials within an agent's reach. The guard parses commands; the boundary is that
 * an agent never holds a production write credential: no production connection string or
 * service-role key readable in the workspace, and no MCP server with write access to production.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { mcpServers } from './mcp/servers.js';
import { resolveRef, resolveUrl, type Env, type GuardScope } from './target.js';

export interface Exposure {
  where: string;
  what: string;
}

const URL_RE = /(?:postgres(?:ql)?|jdbc:postgresql):\/\/[^\s'"`]+/gi;

/** A JWT whose payload says role service_role (Supabase's key that bypasses row-level security). */
function serviceRoleKeys(text: string): number {
  let n = 0;
  for (const m of text.matchAll(/eyJ[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+/g)) {
    try {
      const payload = JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8')) as { role?: string };
      if (payload.role === 'service_role') n++;
    } catch {
      /* not a JWT */
    }
  }
  n += [...text.matchAll(/\bsb_secret_[A-Za-z0-9_-]{10,}/g)].length;
  return n;
}

function isProd(scope: GuardScope, url: string): boolean {
  const t = resolveUrl(scope, url.replace(/[,;)]+$/, ''), 'exposure');
  return t.kind === 'production';
}

/** Files in the workspace an agent reads without asking: env files, MCP configs, agent settings. */
function candidateFiles(root: string): string[] {
  const out: string[] = [];
  try {
    for (const f of readdirSync(root)) if (/^\.env(\..+)?$/.test(f) || /^\.envrc$/.test(f)) out.push(f);
  } catch {
    /* unreadable root */
  }
  return [...out, '.mcp.json', '.cursor/mcp.json', '.gemini/settings.json', '.vscode/mcp.json', '.claude/settings.json', '.claude/settings.local.json', 'supabase/.env', 'supabase/functions/.env'];
}

export function productionExposures(loaded: LoadedConfig, env: Env = process.env): Exposure[] {
  const root = loaded.root;
  const scope: GuardScope = { cwd: root, env: {}, loaded, files: new Map() };
  const out: Exposure[] = [];
  for (const f of candidateFiles(root)) {
    let text: string;
    try {
      text = readFileSync(join(root, f), 'utf8');
    } catch {
      continue;
    }
    if ((text.match(URL_RE) ?? []).some((u) => isProd(scope, u))) out.push({ where: f, what: 'a production connection string' });
    if (serviceRoleKeys(text)) out.push({ where: f, what: 'a Supabase service-role key' });
  }
  for (const [k, v] of Object.entries(env)) {
    if (!v) continue;
    if ((v.match(URL_RE) ?? []).some((u) => isProd(scope, u))) out.push({ where: `$${k}`, what: 'a production connection string in the environment agents inherit' });
    else if (serviceRoleKeys(v)) out.push({ where: `$${k}`, what: 'a Supabase service-role key in the environment agents inherit' });
  }
  for (const s of mcpServers(root, env.HOME)) {
    if (s.supabase && !s.readOnly) {
      const t = s.projectRef ? resolveRef(scope, s.projectRef, 'MCP') : null;
      if (!t || t.kind === 'production' || t.kind === 'unknown') out.push({ where: `MCP server ${s.name} (${s.file})`, what: s.projectRef ? `write access to ${t!.kind === 'production' ? 'production' : `project ${s.projectRef}, which no environment names`} (add --read-only)` : 'write access to every project of the token (no --project-ref, no --read-only)' });
    }
    if (s.connStrings.some((u) => isProd(scope, u))) out.push({ where: `MCP server ${s.name} (${s.file})`, what: 'a production connection string' });
  }
  return out;
}
