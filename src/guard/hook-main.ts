#!/usr/bin/env node
/**
 * A minimal entry point for the Claude Code hook: the same logic as `prodguard hook claude-code`
 * without loading the whole CLI (commander and every command group), for the lowest start-up time.
 * Register it as `node /path/to/prodguard/dist/guard/hook-main.js`. Never fails open.
 */
const DENY = (reason: string) =>
  JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'deny', permissionDecisionReason: reason } });

async function main(): Promise<void> {
  let out = '';
  try {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const { claudeCodeHook } = await import('./hook.js');
    const ans = await claudeCodeHook(Buffer.concat(chunks).toString('utf8'), process.env, {
      onDecision: async (d, loaded) => {
        const { auditDecision } = await import('./project.js');
        await auditDecision(loaded, 'guard.hook', d, { integration: 'claude-code' }).catch(() => {});
      },
    });
    out = ans.stdout;
  } catch (err) {
    out = DENY(`prodguard hook failed (${(err as Error).message}); refusing to be safe.`);
  }
  if (out) process.stdout.write(out + '\n');
}

const timer = setTimeout(() => {
  process.stdout.write(DENY('prodguard hook timed out; refusing to be safe.') + '\n');
  process.exit(0);
}, 25_000);
timer.unref();
await main();
