/**
 * A wrapper family: programs that run another program (sudo, env, npx, bash -c, docker exec, …).
 * Each family lives in its own file with its examples (run by test/guard/wrappers.test.ts), and
 * either hands the next words back to the unwrap loop or ends it with a verdict.
 */
import type { SimpleCommand, Stdin } from '../shell.js';
import type { Env, GuardScope } from '../target.js';

export interface Step {
  /** The words at this level (for --explain and custom rules). */
  words: string[];
  /** What was unwrapped to get here: "sudo", "bash -c", "npm run db:reset", … */
  via: string;
}

export type ToolStdin = { text: string | null; from: string } | undefined;

export type Unwrapped =
  | { kind: 'tool'; tool: string; args: string[]; opaque: string[]; env: Env; stdin: ToolStdin; steps: Step[]; scope: GuardScope }
  | { kind: 'script'; text: string; env: Env; steps: Step[]; scope: GuardScope; stdin?: Stdin; label: string }
  | { kind: 'opaque'; why: string; steps: Step[]; scope: GuardScope; env: Env; dbHint: boolean }
  | { kind: 'none'; steps: Step[] };

export interface UnwrapDeps {
  readFile(path: string, scope: GuardScope): string | null;
  /** package.json scripts in the scope's directory. */
  scripts(scope: GuardScope): Record<string, string> | null;
  /** Makefile recipe lines for a target (with dependencies first), or null. */
  makeRecipe(scope: GuardScope, target: string | null, makefile?: string): string[] | null;
}

/** The state of one unwrapping: mutable, shared by the loop and the wrapper it calls. */
export interface WrapCtx {
  /** Tool name (basename, no version) and the word as written. */
  name: string;
  w0: string;
  args: string[];
  env: Env;
  opaque: string[];
  stdin: ToolStdin;
  /** The scope the command runs in now (changed by docker exec, ssh, make -C). */
  scope: GuardScope;
  /** The scope the command line started in. */
  origin: GuardScope;
  files: Map<string, string>;
  deps: UnwrapDeps;
  steps: Step[];
  cmd: SimpleCommand;
}

/** Continue the loop with these words, or stop with these results. */
export type WrapResult = { next: string[]; via: string } | { done: Unwrapped[] };

export interface WrapperExample {
  command: string;
  /** What the unwrap ends in: `tool psql -c x`, `script <label>`, `opaque`, `none`. */
  yields: string;
}

export interface Wrapper {
  family: string;
  /** Program names (as toolName returns them) this family handles. */
  names: string[];
  /** For families recognised by more than the name (a path to a script, manage.py). */
  matches?(c: WrapCtx): boolean;
  examples: WrapperExample[];
  unwrap(c: WrapCtx): WrapResult;
}

export const next = (words: string[], via: string): WrapResult => ({ next: words, via });
export const none = (c: WrapCtx): WrapResult => ({ done: [{ kind: 'none', steps: c.steps }] });
export const opaque = (c: WrapCtx, why: string, dbHint = true): WrapResult => ({ done: [{ kind: 'opaque', why, steps: c.steps, scope: c.scope, env: c.env, dbHint }] });
export const script = (c: WrapCtx, text: string, label: string, over: { env?: Env; scope?: GuardScope } = {}): WrapResult => ({
  done: [{ kind: 'script', text, env: over.env ?? c.env, steps: c.steps, scope: over.scope ?? c.scope, label }],
});
export const tool = (c: WrapCtx, name: string, args: string[]): WrapResult => ({ done: [{ kind: 'tool', tool: name, args, opaque: c.opaque, env: c.env, stdin: c.stdin, steps: c.steps, scope: c.scope }] });
/** Names the last step's wrapper (for --explain and messages). */
export function via(c: WrapCtx, v: string): void {
  c.steps[c.steps.length - 1].via = v;
}

/** Skips leading options; `valued` says which take the next word as their value; stops after `--` when asked. */
export function skipOptions(args: string[], valued: RegExp, from = 0, stopAtDashDash = false): number {
  let i = from;
  while (i < args.length && args[i].startsWith('-')) {
    if (valued.test(args[i])) i++;
    i++;
    if (stopAtDashDash && args[i - 1] === '--') break;
  }
  return i;
}

export function setAssignment(env: Env, word: string): void {
  const eq = word.indexOf('=');
  env[word.slice(0, eq)] = word.slice(eq + 1);
}

export const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** A file written earlier on the line (`./x.sh` and `x.sh` are the same file), else read from disk. */
export function fileText(c: WrapCtx, path: string): string | null {
  return writtenFile(c.files, path) ?? c.deps.readFile(path, c.scope);
}

export function writtenFile(files: Map<string, string>, path: string): string | undefined {
  return files.get(path) ?? files.get(path.replace(/^(\.\/)+/, '')) ?? files.get('./' + path);
}
