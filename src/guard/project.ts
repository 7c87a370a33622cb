/** Finding the project config for a directory without failing: the guard must decide even without one. */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import type { Context } from '../context.js';
import { errorMessage } from '../errors.js';
import { findConfigFile, loadConfig } from '../config/load.js';
import { contextFrom } from '../context.js';

export async function projectConfig(cwd: string, file?: string): Promise<{ loaded: LoadedConfig | null; problem?: string }> {
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
  /** Who asked (the resident decision process passes its caller's); default: this process's actor. */
  actor?: string,
  /** A context kept open by the caller (the resident decision process); default: one opened and closed here. */
  held?: Context,
): Promise<void> {
  if (!loaded) return;
  const ctx = held ?? contextFrom(loaded);
  try {
    await ctx.audit({
      action,
      command: d.command,
      target: d.target.name ?? d.target.kind,
      verdict: d.decision,
      reason: d.reason,
      details: { ruleId: d.ruleId, targetVia: d.target.via, ...details },
      ...(actor ? { actor } : {}),
    });
  } finally {
    if (!held) await ctx.close();
  }
}

/** fsync of the project's audit log (after a refusal: its record must survive a crash of the machine too). */
export function syncAuditLog(loaded: LoadedConfig | null): void {
  if (!loaded) return;
  try {
    const fd = openSync(resolve(loaded.root, loaded.config.state.auditLog), 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* no log written (audit failed and was reported by its caller) */
  }
}
