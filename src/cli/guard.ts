/**
 * The command guard's entry points: check, guard --, hook claude-code, install, rules.
 * Thin: parse flags, lazy-import the layer, print. `hook claude-code` must never fail open.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { emit, note, table } from './output.js';
import { globalOpts } from './common.js';
import { EXIT, UsageError, errorMessage } from '../errors.js';
import { dirOption, jsonOption } from './options.js';

const EXIT_FOR = { allow: EXIT.ok, deny: EXIT.refused, 'backup-first': 3 } as const;

export function registerGuard(program: Command): void {
  program
    .command('check')
    .description('decide whether a shell command may run (exit 0 allow, 1 deny, 3 backup-first)')
    .argument('<command>', 'the command line, quoted as one argument')
    .option('--cwd <dir>', 'directory the command would run in (default: here)')
    .addOption(jsonOption())
    .option('--explain', 'show the parse, the unwrapped commands, the target resolution and the rule that fired')
    .action(async (command: string, opts: { cwd?: string; json?: boolean; explain?: boolean }, cmd: Command) => {
      const { guardDecision } = await import('../guard/guarded-run.js');
      const { auditDecision } = await import('../guard/project.js');
      const { loaded, problem, decision: d } = await guardDecision(command, { cwd: resolve(opts.cwd ?? process.cwd()), configFile: globalOpts(cmd).config, explain: opts.explain });
      if (problem) note(`prodguard: config problem (${problem}); deciding without it`);
      await auditDecision(loaded, 'guard.check', d, d.grantId ? { grant: d.grantId } : {});
      emit(opts, d, () => {
        const head = `${d.decision.toUpperCase()}${d.ruleId ? ` [${d.ruleId}]` : ''}: ${d.reason}`;
        if (!opts.explain) return head;
        return [
          head,
          '',
          'parse tree:',
          ...(d.outline ?? ['(fast path: not parsed)']).map((l) => '  ' + l),
          '',
          'steps:',
          ...d.steps.map((l) => '  ' + l),
          '',
          `target: ${d.target.name ?? d.target.kind} (${d.target.kind}) via ${d.target.via}`,
        ].join('\n');
      });
      process.exitCode = EXIT_FOR[d.decision];
    });

  program
    .command('guard')
    .description('run a command through the guard: deny, take a verified backup first, or run it (exit code passed through)')
    .argument('<command...>', 'the command and its arguments, after --')
    .allowUnknownOption()
    .action(async (argv: string[], _opts: unknown, cmd: Command) => {
      if (argv[0] === '--') argv = argv.slice(1);
      if (argv.length === 0) throw new UsageError('nothing to run: prodguard guard -- <command> [args…]');
      const { guardedRun } = await import('../guard/guarded-run.js');
      process.exitCode = await guardedRun(argv, { cwd: process.cwd(), configFile: globalOpts(cmd).config, say: note });
    });

  const hook = program.command('hook').description('agent hooks that ask the guard before a tool call runs (never fail open)');
  const HOOKS = [
    ['claude-code', 'Claude Code PreToolUse hook (Bash, MCP tools, Write/Edit)'],
    ['cursor', 'Cursor hook (beforeShellExecution, beforeMCPExecution, preToolUse file writes)'],
    ['gemini', 'Gemini CLI BeforeTool hook (run_shell_command, MCP tools, write_file/replace)'],
  ] as const;
  for (const [agent, what] of HOOKS) {
    hook
      .command(agent)
      .description(`${what}: reads the hook JSON on stdin and answers allow / deny / ask; bad input, an error or a timeout deny`)
      .action(async () => {
        let out: { stdout: string; stderr: string; code: number };
        try {
          const text = await readStdin(10_000);
          // The same entry as the installed hook (hook-main.ts): one decision path, so they cannot diverge.
          const { answerHook } = await import('../guard/hook-entry.js');
          out = await answerHook(agent, text, process.env, process.cwd());
        } catch (err) {
          const { AGENTS } = await import('../guard/agents/index.js');
          out = AGENTS[agent].answer({ decision: 'deny', reason: `prodguard hook failed (${errorMessage(err)}); refusing to be safe.` });
        }
        if (out.stdout) process.stdout.write(out.stdout + '\n');
        if (out.stderr) process.stderr.write(out.stderr + '\n');
        process.exitCode = out.code;
      });
  }

  const install = program.command('install').description('install the guard into Claude Code, Cursor, Gemini CLI, the shell or git');
  for (const [agent, file] of [['claude-code', '.claude/settings.json'], ['cursor', '.cursor/hooks.json'], ['gemini', '.gemini/settings.json']] as const) {
    install
      .command(agent)
      .description(`add prodguard's hook to ${file} by absolute path (shell, MCP and file-writing tools; keeps other settings; idempotent)`)
      .addOption(dirOption())
      .option('--command <cmd>', 'hook command to register (default: this node and prodguard\'s dist/guard/hook-main.js by absolute path)')
      .addOption(jsonOption())
      .action(async (opts: { dir: string; command?: string; json?: boolean }) => {
        const { installAgent } = await import('../guard/install.js');
        const r = installAgent(agent, opts.dir, opts.command);
        emit(opts, r, () => (r.changed ? `added the prodguard hook to ${r.file}: ${r.command}` : `${r.file} already has the prodguard hook`));
      });
  }
  install
    .command('shell')
    .description('write shims for database tools into .prodguard/shims (put it first on PATH, e.g. direnv: PATH_add .prodguard/shims)')
    .addOption(dirOption())
    .option('--prodguard <path>', 'prodguard executable the shims call', 'prodguard')
    .addOption(jsonOption())
    .action(async (opts: { dir: string; prodguard: string; json?: boolean }) => {
      const { installShell } = await import('../guard/install.js');
      const r = installShell(opts.dir, opts.prodguard);
      emit(opts, r, () => `wrote ${r.tools.length} shims to ${r.dir}\nadd to .envrc (direnv):  PATH_add .prodguard/shims\nor in your shell:        export PATH="$PWD/.prodguard/shims:$PATH"`);
    });
  install
    .command('git-hooks')
    .description('add a pre-push hook that runs `prodguard lint` on changed migration files')
    .addOption(dirOption('repository directory'))
    .option('--prodguard <path>', 'prodguard executable the hook calls', 'prodguard')
    .addOption(jsonOption())
    .action(async (opts: { dir: string; prodguard: string; json?: boolean }) => {
      const { installGitHooks } = await import('../guard/install.js');
      const r = installGitHooks(opts.dir, opts.prodguard);
      emit(opts, r, () => (r.changed ? `installed ${r.file}` : `${r.file} is already installed`));
    });

  program
    .command('rules')
    .description('list the command guard rules')
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }) => {
      const { guardRules } = await import('../guard/rules/index.js');
      const data = guardRules.map(({ check: _c, ...r }) => r);
      emit(opts, data, () => table(['id', 'tools', 'title'], data.map((r) => [r.id, r.tools.join(','), r.title])));
    });
}

function readStdin(timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('timed out reading stdin')), timeoutMs);
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d) => (text += d));
    process.stdin.on('end', () => {
      clearTimeout(timer);
      resolve(text);
    });
    process.stdin.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
