/**
 * Runs an installed hook command exactly as the agent would — through /bin/sh, with the user's
 * environment minus the project's node_modules/.bin, JSON on stdin — once with a call it must
 * deny and once with one it must allow. A hook that is installed but does not deny is worse than
 * none (it looks like protection), so status fails rule 1 on it.
 */
import { spawnSync } from 'node:child_process';
import { delimiter } from 'node:path';

type AgentId = 'claude-code' | 'cursor' | 'gemini';

/** A call every project must refuse (a write to prodguard's policy) and one it must allow. */
export function probePayloads(agent: AgentId, event: string, cwd: string): { deny: string; allow: string } {
  const shell = (command: string) => {
    if (agent === 'claude-code') return { hook_event_name: 'PreToolUse', session_id: 'prodguard-status', cwd, tool_name: 'Bash', tool_input: { command } };
    if (agent === 'gemini') return { hook_event_name: 'BeforeTool', session_id: 'prodguard-status', cwd, tool_name: 'run_shell_command', tool_input: { command } };
    if (event === 'beforeMCPExecution') return { hook_event_name: 'beforeMCPExecution', workspace_roots: [cwd], tool_name: 'MCP:prodguard-probe:execute_sql', tool_input: JSON.stringify({ query: command.startsWith('echo') ? 'drop table prodguard_probe' : 'select 1', connectionString: 'postgresql://probe@db.prodguardprobe0000000.supabase.co/postgres' }) };
    if (event === 'preToolUse') return { hook_event_name: 'preToolUse', workspace_roots: [cwd], tool_name: 'Write', tool_input: { file_path: command.startsWith('echo') ? 'prodguard.yaml' : 'README.probe.md' } };
    return { hook_event_name: 'beforeShellExecution', workspace_roots: [cwd], cwd, command };
  };
  return { deny: JSON.stringify(shell('echo off > prodguard.yaml')), allow: JSON.stringify(shell('git status')) };
}

export function deniedBy(agent: AgentId, r: { status: number | null; stdout: string }): boolean {
  if (r.status === 2) return true;
  try {
    const j = JSON.parse(r.stdout.trim().split('\n').pop() || 'null') as Record<string, unknown> | null;
    if (!j) return false;
    if (agent === 'claude-code') return (j.hookSpecificOutput as { permissionDecision?: string } | undefined)?.permissionDecision === 'deny';
    return j.permission === 'deny' || j.decision === 'deny';
  } catch {
    return false;
  }
}

export interface ProbeResult {
  denies: boolean;
  allows: boolean;
  detail: string;
}

export function probeHook(agent: AgentId, event: string, command: string, cwd: string, env: NodeJS.ProcessEnv = process.env): ProbeResult {
  const path = (env.PATH ?? '/usr/bin:/bin').split(delimiter).filter((p) => !/node_modules[\\/]\.bin/.test(p)).join(delimiter);
  const p = probePayloads(agent, event, cwd);
  const run = (input: string) => spawnSync('/bin/sh', ['-c', command], { input, cwd, env: { ...env, PATH: path }, encoding: 'utf8', timeout: 30_000 });
  const d = run(p.deny);
  const a = run(p.allow);
  const denies = deniedBy(agent, d);
  const allows = a.status === 0 && !deniedBy(agent, a);
  const detail = denies ? (allows ? 'denies the probe and allows git status' : `denies everything (exit ${a.status}: ${(a.stderr || a.stdout).trim().split('\n')[0] ?? ''})`) : `did NOT deny a write to prodguard.yaml (exit ${d.status}${d.error ? `, ${d.error.message}` : ''}: ${(d.stderr || d.stdout).trim().split('\n')[0] ?? ''})`;
  return { denies, allows, detail };
}
