/**
 * Scorecard checks contributed by the guard layer (rule 1: production is never touched directly).
 * Whether production is identifiable is already a foundation check (status/checks/foundation.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StatusCheck } from '../types.js';

export const checks: StatusCheck[] = [
  {
    rule: 1,
    id: 'guard.claude-code-hook',
    title: 'Claude Code hook installed in this project',
    async run(ctx) {
      const file = join(ctx.loaded.root, '.claude', 'settings.json');
      if (!existsSync(file)) return { state: 'missing', reason: 'no .claude/settings.json: run `prodguard install claude-code`' };
      try {
        const s = JSON.parse(readFileSync(file, 'utf8')) as { hooks?: { PreToolUse?: Array<{ hooks?: Array<{ command?: string }> }> } };
        const ok = s.hooks?.PreToolUse?.some((e) => e.hooks?.some((h) => h.command?.includes('prodguard hook claude-code')));
        return ok ? { state: 'ok', reason: `PreToolUse hook registered in ${file}` } : { state: 'missing', reason: `${file} has no prodguard hook: run \`prodguard install claude-code\`` };
      } catch (err) {
        return { state: 'failing', reason: `${file} is not valid JSON (${(err as Error).message})` };
      }
    },
  },
];
