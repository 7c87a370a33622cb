/**
 * Scorecard checks contributed by the guard layer (rule 1: production is never touched directly).
 * Whether production is identifiable is already a foundation check (status/checks/foundation.ts).
 */
import type { StatusCheck } from '../types.js';
import { errorMessage } from '../../errors.js';
import { AGENT_SETTINGS, installedHookCommands } from '../../guard/install.js';
import { probeHook } from '../../guard/probe-hook.js';
import { productionExposures } from '../../guard/exposure.js';

export const checks: StatusCheck[] = [
  {
    rule: 1,
    id: 'guard.claude-code-hook',
    title: 'Agent hooks installed and denying (Claude Code, Cursor, Gemini CLI)',
    async run(ctx) {
      const root = ctx.loaded.root;
      const lines: string[] = [];
      let failing = false;
      let installed = 0;
      for (const agent of Object.keys(AGENT_SETTINGS) as Array<keyof typeof AGENT_SETTINGS>) {
        let found;
        try {
          found = installedHookCommands(agent, root);
        } catch (err) {
          failing = true;
          lines.push(`${agent}: ${errorMessage(err)}`);
          continue;
        }
        if (!found) continue;
        const events = AGENT_SETTINGS[agent].events.map((e) => e.event);
        const missing = events.filter((e) => !found.commands.some((c) => c.event === e));
        if (found.commands.length === 0) {
          lines.push(`${found.file} has no prodguard hook: run \`prodguard install ${agent}\``);
          continue;
        }
        installed++;
        if (missing.length) {
          failing = true;
          lines.push(`${agent}: no prodguard hook for ${missing.join(', ')} (run \`prodguard install ${agent}\`)`);
        }
        for (const c of found.commands) {
          if (agent === 'claude-code' && !/mcp__/.test(c.matcher ?? '')) {
            failing = true;
            lines.push(`${agent}: matcher "${c.matcher ?? ''}" does not cover MCP and file tools (run \`prodguard install ${agent}\`)`);
          }
          const p = probeHook(agent, c.event, c.command, root);
          if (!p.denies) failing = true;
          lines.push(`${agent} ${c.event}: ${p.detail}`);
        }
      }
      if (failing) return { state: 'failing', reason: lines.join('; ') };
      if (installed === 0) return { state: 'missing', reason: 'no agent hook installed: run `prodguard install claude-code` (or cursor, gemini)' };
      return { state: 'ok', reason: lines.join('; ') };
    },
  },
  {
    rule: 1,
    id: 'guard.production-credentials',
    title: 'No production write credential within an agent\'s reach (env files, MCP servers, environment)',
    async run(ctx) {
      const found = productionExposures(ctx.loaded);
      if (found.length === 0) return { state: 'ok', reason: 'no production connection string, service-role key or writable production MCP server in the workspace' };
      return {
        state: 'failing',
        reason: `${found.map((e) => `${e.where}: ${e.what}`).join('; ')} — keep production credentials in the gateway and CI only (docs/guard.md, "Production only through the gateway")`,
        details: { exposures: found },
      };
    },
  },
];
