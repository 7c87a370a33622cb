#!/usr/bin/env node
/**
 * A minimal entry point for the agent hooks: the same logic as `prodguard hook <agent>` without
 * loading the whole CLI (commander and every command group), for the lowest start-up time.
 * `prodguard install <agent>` registers it by absolute path: `<node> <…>/dist/guard/hook-main.js <agent>`.
 * Never fails open: a crash or timeout prints a deny and exits 2.
 *
 * Its static imports are small: the agent adapters with the fast path (`git status` is answered
 * without a config or parser) and the resident-process client (node built-ins): a live decision process
 * for this project and config answers in a few milliseconds (daemon/server.ts); otherwise one is
 * started in the background for the next call and this call is decided in-process, as before.
 */
import { viaDaemon } from './daemon/client.js';
import { fastAnswer } from './hook.js';
type AgentId = 'claude-code' | 'cursor' | 'gemini';
const agentId = (process.argv[2] ?? 'claude-code') as AgentId;

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
  const fromDaemon = fastAnswer(agentId, text, process.cwd()) ?? (await viaDaemon(agentId, text, process.env, process.cwd()));
  if (fromDaemon) {
    if (fromDaemon.stdout) process.stdout.write(fromDaemon.stdout + '\n');
    if (fromDaemon.stderr) process.stderr.write(fromDaemon.stderr + '\n');
    process.exitCode = fromDaemon.code;
    return;
  }
  const { agentHook, auditVerdict } = await import('./hook.js');
  const ans = await agentHook(agentId, text, process.env, {
    timeoutMs: 18_000,
    onDecision: (v, loaded) => auditVerdict(v, loaded, agentId).catch(() => {}),
  });
  if (ans.stdout) process.stdout.write(ans.stdout + '\n');
  if (ans.stderr) process.stderr.write(ans.stderr + '\n');
  process.exitCode = ans.code;
}

const timer = setTimeout(() => deny('prodguard hook timed out; refusing to be safe.'), 25_000);
timer.unref();
await main().catch((err: Error) => deny(`prodguard hook failed (${err.message}); refusing to be safe.`));
