#!/usr/bin/env node
/**
 * A minimal entry point for the agent hooks: the same logic as `prodguard hook <agent>` without
 * loading the whole CLI (commander and every command group), for the lowest start-up time.
 * `prodguard install <agent>` registers it by absolute path: `<node> <…>/dist/guard/hook-main.js <agent>`.
 * Never fails open: a crash or timeout prints a deny and exits 2.
 *
 * The decision itself is hook-entry.ts's `answerHook`, the same one `prodguard hook` calls: the fast
 * path, then a live decision process for this project (daemon/server.ts), else in-process.
 */
import { answerHook, type HookAgentId } from './hook-entry.js';
const agentId = (process.argv[2] ?? 'claude-code') as HookAgentId;

function deny(reason: string): never {
  // Exit 2 blocks in all three agents; Claude Code also reads the JSON.
  if (agentId === 'claude-code') process.stdout.write(JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'deny', permissionDecisionReason: reason } }) + '\n');
  else process.stdout.write(JSON.stringify({ permission: 'deny', decision: 'deny', reason, user_message: reason, agent_message: reason }) + '\n');
  process.stderr.write(reason + '\n');
  process.exit(2);
}

async function main(): Promise<void> {
  if (!['claude-code', 'cursor', 'gemini'].includes(agentId)) deny(`prodguard hook: unknown agent ${agentId}; refusing to be safe.`);
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const ans = await answerHook(agentId, text, process.env, process.cwd());
  if (ans.stdout) process.stdout.write(ans.stdout + '\n');
  if (ans.stderr) process.stderr.write(ans.stderr + '\n');
  process.exitCode = ans.code;
}

const timer = setTimeout(() => deny('prodguard hook timed out; refusing to be safe.'), 25_000);
timer.unref();
await main().catch((err: Error) => deny(`prodguard hook failed (${err.message}); refusing to be safe.`));
