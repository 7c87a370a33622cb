/**
 * What `prodguard init` wires into the project after writing prodguard.yaml: the guard hook and the
 * read-only MCP door into each chosen agent, and (with --ci github) the CI pipeline and the
 * scheduled backup workflow. Returns one line per thing wired, for the summary and the audit record.
 */
import type { LoadedConfig } from '../config/load.js';
import { errorMessage } from '../errors.js';
import { installAgent } from '../guard/install.js';
import { writeGithubWorkflow } from '../migrate/ci-workflow.js';
import { writeScheduleWorkflow } from '../server/ci-schedule.js';
import { installMcpDoor } from './agents.js';

export type InitAgent = 'claude-code' | 'cursor' | 'gemini';

/** The agents an `--agents` answer names (`none` and blanks dropped). */
export function chosenAgents(answer: string): InitAgent[] {
  return answer.split(',').map((s) => s.trim()).filter((s) => s && s !== 'none') as InitAgent[];
}

export function wireProject(dir: string, loaded: LoadedConfig, o: { agents: InitAgent[]; mcp: boolean; ci: string; schedule: string }): string[] {
  const wired: string[] = [];
  for (const agent of o.agents) {
    const hook = installAgent(agent, dir);
    wired.push(`${agent}: guard hook in ${hook.file.slice(dir.length + 1)}`);
    if (o.mcp) {
      const door = installMcpDoor(agent, dir, 'production', ['npx', '--no-install', 'prodguard']);
      wired.push(`${agent}: read-only MCP server "prodguard" in ${door.file.slice(dir.length + 1)} (through the gateway: set PRODGUARD_GATEWAY_URL to a gateway login)`);
    }
  }
  if (o.ci === 'github') {
    // An existing workflow is kept (the generator refuses to overwrite it): say so instead of failing init.
    const attempt = (what: string, fn: () => string) => {
      try {
        wired.push(`${what}: ${fn().slice(dir.length + 1)}`);
      } catch (err) {
        wired.push(`${what}: kept the existing file (${errorMessage(err).split(';')[0]})`);
      }
    };
    attempt('CI pipeline (lint, staging, approvals, production deploy)', () => writeGithubWorkflow(loaded, { staging: 'staging', production: 'production' }));
    if (o.schedule === 'ci') attempt('scheduled backup + verify', () => writeScheduleWorkflow(loaded));
  }
  return wired;
}
