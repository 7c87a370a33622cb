/** Installing the guard where commands are typed: Claude Code settings, shell shims, git hooks. */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';

export const HOOK_COMMAND = 'prodguard hook claude-code';

/** Merges the PreToolUse hook into .claude/settings.json; keeps every other setting and hook. Idempotent. */
export function installClaudeCode(projectDir: string, command = HOOK_COMMAND): { file: string; changed: boolean } {
  const file = join(projectDir, '.claude', 'settings.json');
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
  const hooks = (settings.hooks ??= {}) as Record<string, unknown>;
  if (typeof hooks !== 'object' || Array.isArray(hooks)) throw new UsageError(`${file}: "hooks" must be an object`);
  const pre = (hooks.PreToolUse ??= []) as Array<{ matcher?: string; hooks?: Array<{ type?: string; command?: string }> }>;
  if (!Array.isArray(pre)) throw new UsageError(`${file}: "hooks.PreToolUse" must be an array`);
  const present = pre.some((e) => e.hooks?.some((h) => typeof h.command === 'string' && h.command.includes('prodguard hook claude-code')));
  if (present) return { file, changed: false };
  pre.push({ matcher: 'Bash', hooks: [{ type: 'command', command, timeout: 30 } as { type: string; command: string }] });
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(settings, null, 2) + '\n');
  return { file, changed: true };
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
