/**
 * Demo chapter: the incident, replayed. An "AI agent" (a PreToolUse hook payload, exactly what
 * Claude Code sends) tries `supabase db reset --linked` against the demo production and is stopped
 * by the real hook logic; the audit record is shown. Read-only debugging and local resets pass.
 */
import type { DemoChapter, DemoContext } from '../types.js';
import { agentHook, auditVerdict, claudeCodeHook } from '../../guard/hook.js';
import { auditDecision } from '../../guard/project.js';
import { installClaudeCode } from '../../guard/install.js';

/** Five ways an agent has disguised the same command (each must be denied). */
const DISGUISES = [
  `echo 'supabase db reset --linked' > fix.sh && FOO=1 bash -c "bash fix.sh"`,
  'npx --yes supabase@latest db reset --linked',
  `sh -c 'cd supabase && supabase db reset --linked'`,
  "bash <<'EOF'\nsupabase db reset --linked\nEOF",
  'echo --linked | xargs supabase db reset',
];

/** A Claude Code PreToolUse payload from the demo agent's session. */
function hookPayload(demo: DemoContext, tool: string, input: Record<string, unknown>, toolUseId: string): string {
  return JSON.stringify({
    session_id: 'demo-agent',
    transcript_path: '/tmp/demo-transcript.jsonl',
    cwd: demo.projectDir,
    permission_mode: 'default',
    hook_event_name: 'PreToolUse',
    tool_name: tool,
    tool_input: input,
    tool_use_id: toolUseId,
  });
}

function mcpPayload(demo: DemoContext, tool: string, input: Record<string, unknown>): string {
  return hookPayload(demo, tool, input, 'toolu_demo_mcp');
}

function payload(demo: DemoContext, command: string): string {
  return hookPayload(demo, 'Bash', { command, description: 'Agent command' }, 'toolu_demo');
}

export const guardChapter: DemoChapter = {
  id: 'guard',
  title: 'An AI agent runs `supabase db reset --linked` against production — and is stopped',
  async run(demo: DemoContext) {
    const env = { ...process.env, ...demo.env };
    const ask = async (command: string) => {
      demo.showCommand(command);
      const ans = await claudeCodeHook(payload(demo, command), env, {
        onDecision: (d) => auditDecision(demo.ctx.loaded, 'guard.hook', d, { integration: 'claude-code', demo: true }),
      });
      if (ans.stdout) {
        const reason = (JSON.parse(ans.stdout) as { hookSpecificOutput: { permissionDecisionReason: string } }).hookSpecificOutput.permissionDecisionReason;
        demo.say(`  ✋ hook answered deny: ${reason}`);
      } else demo.say(`  ✓ hook allowed it: ${ans.decision?.reason ?? ''}`);
      return ans;
    };

    demo.showCommand('prodguard install claude-code');
    const installed = installClaudeCode(demo.projectDir);
    demo.say(`  PreToolUse hook for Bash added to ${installed.file.replace(demo.projectDir + '/', '')} (other settings kept).`);
    demo.say('The agent is working in the project, which `supabase link` connected to production (supabase/.temp/project-ref).');
    demo.say('Claude Code sends every Bash command to `prodguard hook claude-code` before running it:');
    const denied = await ask('supabase db reset --linked');
    if (!denied.stdout.includes('"deny"')) throw new Error('the guard let supabase db reset --linked through');
    const rec = demo.ctx.auditLog.tail(1)[0];
    demo.say(`The audit log recorded it: #${rec.seq} ${rec.time} ${rec.action} ${rec.verdict} target=${rec.target} rule=${String((rec.details as Record<string, unknown> | undefined)?.ruleId)}`);

    demo.say('The agent tries five disguises — a script, a package runner, a subshell, a heredoc, xargs — the guard reads through each:');
    for (const disguise of DISGUISES) {
      const hidden = await ask(disguise);
      if (!hidden.stdout.includes('"deny"')) throw new Error(`the guard let a disguised reset through: ${disguise}`);
    }

    // The way agents usually reach Supabase: its MCP server's execute_sql tool, not a shell.
    const PRODUCTION_REF = Object.values(demo.ctx.loaded.config.environments).find((e) => e.kind === 'production')?.supabaseRef ?? 'qwikkerprod';
    demo.say('Most agents reach Supabase through its MCP server rather than a shell. Claude Code sends MCP tool calls to the same hook:');
    demo.showCommand(`(agent → supabase MCP) execute_sql {"project_id": "${PRODUCTION_REF}", "query": "DROP TABLE businesses"}`);
    const mcp = await agentHook('claude-code', mcpPayload(demo, 'mcp__supabase__execute_sql', { project_id: PRODUCTION_REF, query: 'DROP TABLE businesses' }), env, {
      onDecision: (v) => auditVerdict(v, demo.ctx.loaded, 'claude-code'),
    });
    if (!mcp.stdout.includes('"deny"')) throw new Error('the guard let an MCP execute_sql DROP TABLE on production through');
    demo.say(`  ✋ hook answered deny: ${(JSON.parse(mcp.stdout) as { hookSpecificOutput: { permissionDecisionReason: string } }).hookSpecificOutput.permissionDecisionReason}`);
    demo.say('  (chapter "access" shows the door agents get instead: `prodguard mcp`, read-only, through the gateway)');

    demo.say('Read-only debugging of production is allowed:');
    const read = await ask(`psql "$PRODUCTION_DATABASE_URL" -c 'select count(*) from businesses'`);
    if (read.stdout) throw new Error('a read-only query was refused');

    demo.say('And resetting the local development stack is everyday work:');
    const local = await ask('supabase db reset');
    if (local.stdout) throw new Error('a local reset was refused');
  },
};
