/** Installing the guard where commands are typed: agent hooks (Claude Code, Cursor, Gemini CLI), shell shims, git hooks. */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MATCHER as CLAUDE_MATCHER } from './agents/claude-code.js';
import { FILE_TOOLS as CURSOR_FILE_TOOLS } from './agents/cursor.js';
import { MATCHER as GEMINI_MATCHER } from './agents/gemini.js';
import { shellQuote } from './wrappers/words.js';
import { UsageError, errorMessage } from '../errors.js';

/**
 * The hook command for an agent, resolving without PATH: the absolute path of this node and of
 * the lean hook entry (dist/guard/hook-main.js). A bare `prodguard` is not on the agent's PATH
 * when prodguard is a project dependency: the hook would exit 127, which agents treat as a
 * non-blocking error — the tool call would run. `|| exit 2` turns a missing node or file into a block.
 */
export function hookCommand(agent: AgentId): string {
  return `${shellQuote(process.execPath)} ${shellQuote(hookEntry())} ${agent} || exit 2`;
}

/** dist/guard/hook-main.js of this installation (from src/ under tsx: the built copy next to it). */
export function hookEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const entry = here.endsWith('.js') ? join(dirname(here), 'hook-main.js') : join(dirname(here), '..', '..', 'dist', 'guard', 'hook-main.js');
  if (!existsSync(entry)) throw new UsageError(`${entry} does not exist: build prodguard first (npm run build)`);
  return entry;
}

type AgentId = 'claude-code' | 'cursor' | 'gemini';
type HookEntry = { matcher?: string; hooks?: Array<{ type?: string; command?: string; timeout?: number }>; command?: string };

/** Where each agent keeps its hooks, and the entries prodguard adds. */
export const AGENT_SETTINGS: Record<AgentId, { file: string; events: Array<{ event: string; matcher?: string }> }> = {
  'claude-code': { file: '.claude/settings.json', events: [{ event: 'PreToolUse', matcher: CLAUDE_MATCHER }] },
  cursor: { file: '.cursor/hooks.json', events: [{ event: 'beforeShellExecution' }, { event: 'beforeMCPExecution' }, { event: 'preToolUse', matcher: CURSOR_FILE_TOOLS.join('|') }] },
  gemini: { file: '.gemini/settings.json', events: [{ event: 'BeforeTool', matcher: GEMINI_MATCHER }] },
};

function readSettings(file: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  const text = readFileSync(file, 'utf8');
  let settings: unknown;
  try {
    settings = text.trim() ? JSON.parse(text) : {};
  } catch (err) {
    throw new UsageError(`${file} is not valid JSON (${errorMessage(err)}); fix it first, prodguard will not overwrite it`);
  }
  if (!settings || typeof settings !== 'object' || Array.isArray(settings)) throw new UsageError(`${file} must hold a JSON object`);
  return settings as Record<string, unknown>;
}

const isOurs = (cmd: unknown): boolean => typeof cmd === 'string' && (/prodguard hook /.test(cmd) || /hook-main\.js/.test(cmd));

/**
 * Merges prodguard's hook into the agent's settings, keeping every other setting and hook;
 * replaces an older prodguard entry (a bare `prodguard hook …`, a narrower matcher). Idempotent.
 */
export function installAgent(agent: AgentId, projectDir: string, command = hookCommand(agent)): { file: string; changed: boolean; command: string } {
  const spec = AGENT_SETTINGS[agent];
  const file = join(projectDir, spec.file);
  const settings = readSettings(file);
  const before = JSON.stringify(settings);
  if (agent === 'cursor') settings.version ??= 1;
  const hooks = (settings.hooks ??= {}) as Record<string, unknown>;
  if (typeof hooks !== 'object' || Array.isArray(hooks)) throw new UsageError(`${file}: "hooks" must be an object`);
  for (const { event, matcher } of spec.events) {
    const list = (hooks[event] ??= []) as HookEntry[];
    if (!Array.isArray(list)) throw new UsageError(`${file}: "hooks.${event}" must be an array`);
    // Drop older prodguard entries, then add the current one.
    const kept = list
      .map((e) => (e.hooks ? { ...e, hooks: e.hooks.filter((h) => !isOurs(h.command)) } : e))
      .filter((e) => !isOurs(e.command) && !(e.hooks && e.hooks.length === 0));
    if (agent === 'cursor') kept.push({ command, ...(matcher ? { matcher } : {}), failClosed: true, timeout: 30 } as HookEntry);
    else kept.push({ ...(matcher ? { matcher } : {}), hooks: [{ type: 'command', command, timeout: agent === 'gemini' ? 30_000 : 30 }] });
    hooks[event] = kept;
  }
  if (JSON.stringify(settings) === before) return { file, changed: false, command };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(settings, null, 2) + '\n');
  return { file, changed: true, command };
}

/** The hook commands prodguard registered for an agent in this project (for status). */
export function installedHookCommands(agent: AgentId, projectDir: string): { file: string; commands: Array<{ event: string; matcher?: string; command: string }> } | null {
  const spec = AGENT_SETTINGS[agent];
  const file = join(projectDir, spec.file);
  if (!existsSync(file)) return null;
  const settings = readSettings(file);
  const hooks = (settings.hooks ?? {}) as Record<string, HookEntry[]>;
  const out: Array<{ event: string; matcher?: string; command: string }> = [];
  for (const { event } of spec.events) {
    for (const e of Array.isArray(hooks[event]) ? hooks[event] : []) {
      if (isOurs(e.command)) out.push({ event, matcher: e.matcher, command: e.command! });
      for (const h of e.hooks ?? []) if (isOurs(h.command)) out.push({ event, matcher: e.matcher, command: h.command! });
    }
  }
  return { file, commands: out };
}

/** Kept for callers of the first wave: Claude Code with the fail-closed command. */
export function installClaudeCode(projectDir: string, command?: string): { file: string; changed: boolean } {
  return installAgent('claude-code', projectDir, command);
}

export const SHIM_TOOLS = ['supabase', 'psql', 'dropdb', 'dropuser', 'pg_restore', 'pg_ctl', 'pg_resetwal', 'prisma', 'drizzle-kit', 'knex', 'sequelize', 'typeorm', 'rails', 'rake', 'flyway', 'liquibase', 'atlas', 'dbmate', 'goose'];

export function shimScript(tool: string, prodguard: string): string {
  return `#!/bin/sh
# prodguard shim for ${tool}: every call goes through \`prodguard guard\`.
# Installed by \`prodguard install shell\`; put this directory first on PATH (direnv: PATH_add .prodguard/shims).
shim_dir=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
clean_path=$(printf '%s' "$PATH" | tr ':' '\\n' | grep -vxF "$shim_dir" | paste -sd: -)
real=$(PATH="$clean_path" command -v ${tool}) || { echo "prodguard shim: ${tool} is not installed (PATH without $shim_dir)" >&2; exit 127; }
PATH="$clean_path" exec ${prodguard} guard -- "$real" "$@"
`;
}

export function installShell(projectDir: string, prodguard = 'prodguard'): { dir: string; tools: string[] } {
  const dir = join(projectDir, '.prodguard', 'shims');
  mkdirSync(dir, { recursive: true });
  for (const t of SHIM_TOOLS) {
    const f = join(dir, t);
    writeFileSync(f, shimScript(t, prodguard));
    chmodSync(f, 0o755);
  }
  return { dir, tools: SHIM_TOOLS };
}

export const PRE_PUSH = `#!/bin/sh
# prodguard pre-push: migrations that fail \`prodguard lint\` are not pushed.
# Installed by \`prodguard install git-hooks\`.
z40=0000000000000000000000000000000000000000
files=""
while read -r local_ref local_sha remote_ref remote_sha; do
  [ "$local_sha" = "$z40" ] && continue
  if [ "$remote_sha" = "$z40" ]; then
    changed=$(git log --name-only --diff-filter=AM --format= "$local_sha" --not --remotes 2>/dev/null)
  else
    changed=$(git diff --name-only --diff-filter=AM "$remote_sha" "$local_sha" 2>/dev/null)
  fi
  for f in $changed; do
    case "$f" in
      supabase/migrations/*.sql|migrations/*.sql|*/migrations/*.sql|db/migrate/*.sql) [ -f "$f" ] && files="$files $f" ;;
    esac
  done
done
[ -z "$files" ] && exit 0
echo "prodguard: linting migrations:$files" >&2
# shellcheck disable=SC2086
exec PRODGUARD_BIN lint $files
`;

export function installGitHooks(projectDir: string, prodguard = 'prodguard'): { file: string; changed: boolean } {
  let gitDir = join(projectDir, '.git');
  if (!existsSync(gitDir)) throw new UsageError(`${projectDir} is not a git repository (no .git)`);
  const hooksDir = join(gitDir, 'hooks');
  const file = join(hooksDir, 'pre-push');
  const script = PRE_PUSH.replace('PRODGUARD_BIN', prodguard);
  if (existsSync(file)) {
    const old = readFileSync(file, 'utf8');
    if (old === script) return { file, changed: false };
    if (!old.includes('prodguard pre-push')) throw new UsageError(`${file} already exists and is not prodguard's; add \`${prodguard} lint <changed migrations>\` to it yourself`);
  }
  mkdirSync(hooksDir, { recursive: true });
  writeFileSync(file, script);
  chmodSync(file, 0o755);
  gitDir = hooksDir;
  return { file, changed: true };
}
