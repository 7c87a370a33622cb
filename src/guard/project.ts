/** Finding the project config for a directory without failing: the guard must decide even without one. */
import type { LoadedConfig } from '../config/load.js';
import { errorMessage } from '../errors.js';

export async function projectConfig(cwd: string, file?: string): Promise<{ loaded: LoadedConfig | null; problem?: string }> {
  const { findConfigFile, loadConfig } = await import('../config/load.js');
  const path = file ?? findConfigFile(cwd);
  if (!path) return { loaded: null };
  try {
    return { loaded: loadConfig({ file: path }) };
  } catch (err) {
    return { loaded: null, problem: `${path}: ${errorMessage(err).split('\n')[0]}` };
  }
}

/** Writes one audit record per decision when the project has a config (without one there is no log). */
export async function auditDecision(
  loaded: LoadedConfig | null,
  action: string,
  d: { command: string; decision: string; reason: string; ruleId: string | null; target: { name: string | null; kind: string; via: string } },
  details: Record<string, unknown> = {},
): Promise<void> {
  if (!loaded) return;
  const { contextFrom } = await import('../context.js');
  const ctx = contextFrom(loaded);
  try {
    await ctx.audit({
      action,
      command: d.command,
      target: d.target.name ?? d.target.kind,
      verdict: d.decision,
      reason: d.reason,
      details: { ruleId: d.ruleId, targetVia: d.target.via, ...details },
    });
  } finally {
    await ctx.close();
  }
}
