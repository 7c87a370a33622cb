/**
 * Demo chapter: the incident, replayed. An "AI agent" (a PreToolUse hook payload, exactly what
 * Claude Code sends) tries `supabase db reset --linked` against the demo production and is stopped
 * by the real hook logic; the audit record is shown. Read-only debugging and local resets pass.
 */
import type { DemoChapter, DemoContext } from '../types.js';

function payload(demo: DemoContext, command: string): string {
  return JSON.stringify({
    session_id: 'demo-agent',
    transcript_path: '/tmp/demo-transcript.jsonl',
    cwd: demo.projectDir,
    permission_mode: 'default',
    hook_event_name: 'PreToolUse',
    tool_name: 'Bash',
    tool_input: { command, description: 'Agent command' },
    tool_use_id: 'toolu_demo',
  });
}

export const guardChapter: DemoChapter = {
  id: 'guard',
  title: 'An AI agent runs `supabase db reset --linked` against production — and is stopped',
  async run(demo: DemoContext) {
    const { claudeCodeHook } = await import('../../guard/hook.js');
    const { auditDecision } = await import('../../guard/project.js');
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

    const { installClaudeCode } = await import('../../guard/install.js');
    demo.showCommand('prodguard install claude-code');
    const installed = installClaudeCode(demo.projectDir);
    demo.say(`  PreToolUse hook for Bash added to ${installed.file.replace(demo.projectDir + '/', '')} (other settings kept).`);
    demo.say('The agent is working in the project, which `supabase link` connected to production (supabase/.temp/project-ref).');
    demo.say('Claude Code sends every Bash command to `prodguard hook claude-code` before running it:');
    const denied = await ask('supabase db reset --linked');
    if (!denied.stdout.includes('"deny"')) throw new Error('the guard let supabase db reset --linked through');
    const rec = demo.ctx.auditLog.tail(1)[0];
    demo.say(`The audit log recorded it: #${rec.seq} ${rec.time} ${rec.action} ${rec.verdict} target=${rec.target} rule=${String((rec.details as Record<string, unknown> | undefined)?.ruleId)}`);

    demo.say('The agent tries to hide it in a script and a wrapper — the guard reads through both:');
    const hidden = await ask(`echo 'supabase db reset --linked' > fix.sh && FOO=1 bash -c "bash fix.sh"`);
    if (!hidden.stdout.includes('"deny"')) throw new Error('the guard let the script bypass through');

    demo.say('Read-only debugging of production is allowed:');
    const read = await ask(`psql "$PRODUCTION_DATABASE_URL" -c 'select count(*) from businesses'`);
    if (read.stdout) throw new Error('a read-only query was refused');

    demo.say('And resetting the local development stack is everyday work:');
    const local = await ask('supabase db reset');
    if (local.stdout) throw new Error('a local reset was refused');
  },
};
