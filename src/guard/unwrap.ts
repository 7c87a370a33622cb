/**
 * From a simple command to the tool that really runs. Each wrapper family (sudo, env, npx,
 * bash -c, docker exec, ssh, make, …) lives in `wrappers/`; this loop hands the words to the
 * family that owns the program name until a tool, a script to analyse, or a verdict remains.
 */
import type { SimpleCommand } from './shell.js';
import { pipeText, UNKNOWN_CONTENT } from './shell.js';
import { OPAQUE_ARG } from './rules/types.js';
import type { GuardScope } from './target.js';
import { wrapperFor } from './wrappers/index.js';
import { toolAlias } from './wrappers/script-file.js';
import { toolName } from './wrappers/words.js';
import { ASSIGNMENT, setAssignment, type Step, type ToolStdin, type Unwrapped, type UnwrapDeps, type WrapCtx } from './wrappers/types.js';

export type { Step, Unwrapped, UnwrapDeps } from './wrappers/types.js';
export { toolName, shellQuote } from './wrappers/words.js';

const RESERVED = new Set(['if', 'then', 'else', 'elif', 'fi', 'for', 'while', 'until', 'do', 'done', 'case', 'esac', '{', '}', '!', '[[', ']]', 'function', 'select', 'coproc']);

function stdinOf(cmd: SimpleCommand, files: Map<string, string>, readFile: (p: string) => string | null): ToolStdin {
  const s = cmd.stdin;
  if (s.kind === 'none') return undefined;
  if (s.kind === 'text') return { text: s.text.includes(UNKNOWN_CONTENT) ? null : s.text, from: s.from };
  if (s.kind === 'file') {
    if (s.path === null) return { text: null, from: 'a file the guard cannot name' };
    const t = files.get(s.path) ?? readFile(s.path);
    return { text: t === null || t.includes(UNKNOWN_CONTENT) ? null : t, from: `file ${s.path}` };
  }
  const t = pipeText(s.from);
  const last = s.from[s.from.length - 1];
  return { text: t === null || t.includes(UNKNOWN_CONTENT) ? null : t, from: last ? last.text.slice(0, 80) : 'a pipe' };
}

export function unwrap(cmd: SimpleCommand, scope: GuardScope, files: Map<string, string>, deps: UnwrapDeps): Unwrapped[] {
  const c: WrapCtx = { name: '', w0: '', args: [], env: { ...scope.env }, opaque: [], stdin: undefined, scope, origin: scope, files, deps, steps: [], cmd };
  for (const a of cmd.assigns) {
    if (a.value === null) c.opaque.push(`$${a.name}`);
    // An assignment the guard cannot evaluate leaves the variable unknown, not unset.
    c.env[a.name] = a.value ?? OPAQUE_ARG;
  }
  let words: string[] = cmd.words.map((w) => {
    if (w.value === null) c.opaque.push(w.why ?? w.raw);
    return w.value ?? OPAQUE_ARG;
  });
  c.stdin = stdinOf(cmd, files, (p) => deps.readFile(p, scope));
  const { steps } = c;

  for (let depth = 0; depth < 40; depth++) {
    if (words.length === 0) return [{ kind: 'none', steps }];
    steps.push({ words: [...words], via: steps.length ? steps[steps.length - 1].via : 'command' });
    const w0 = words[0];
    // VAR=value after a wrapper (`timeout 60 FOO=1 cmd`): count it as an assignment (fail closed).
    if (steps.length > 1 && ASSIGNMENT.test(w0)) {
      setAssignment(c.env, w0);
      words = words.slice(1);
      steps.pop();
      continue;
    }
    if (w0 === OPAQUE_ARG) return [{ kind: 'opaque', why: `the command name comes from ${cmd.words[0]?.why ?? cmd.words[0]?.raw ?? 'an expansion'}`, steps, scope: c.scope, env: c.env, dbHint: true }];
    // A shell keyword where a program is expected (`timeout 9 if …`, `sudo ! …`, `nice { …; }`):
    // the shell and the guard may read this differently, so it is not trusted.
    if (steps.length > 1 && RESERVED.has(w0)) return [{ kind: 'opaque', why: `the shell keyword "${w0}" is used as a program name`, steps, scope: c.scope, env: c.env, dbHint: true }];
    c.name = toolName(w0);
    c.w0 = w0;
    c.args = words.slice(1);
    const family = wrapperFor(c);
    if (!family) return [{ kind: 'tool', tool: toolAlias(c.name), args: c.args, opaque: c.opaque, env: c.env, stdin: c.stdin, steps, scope: c.scope }];
    const r = family.unwrap(c);
    if ('done' in r) return r.done;
    words = r.next;
    steps[steps.length - 1].via = r.via;
  }
  return [{ kind: 'opaque', why: 'too many nested wrappers', steps, scope: c.scope, env: c.env, dbHint: true }];
}
