/** The agents prodguard hooks into, by id. */
import type { AgentAdapter } from './types.js';
import { claudeCode } from './claude-code.js';
import { cursor } from './cursor.js';
import { gemini } from './gemini.js';

export const AGENTS: Record<AgentAdapter['id'], AgentAdapter> = { 'claude-code': claudeCode, cursor, gemini };
export type { AgentAdapter, HookOutput } from './types.js';
