/** What a guard rule is: one dangerous operation of one tool, with its docs and examples (squawk-style). */
import type { GuardScope, Target, TargetSpec, Env } from '../target.js';

/** destructive: can lose data. change: alters production without approval. opaque: cannot tell. read: safe. */
export type Risk = 'destructive' | 'change' | 'opaque' | 'read';

export interface Invocation {
  /** Tool name as the rule knows it (basename, version suffix removed). */
  tool: string;
  /** Arguments after the tool name; an argument the guard cannot know is "\u0000?". */
  args: string[];
  /** Reasons for arguments the guard cannot know (unset variables, $(…)). */
  opaque: string[];
  /** What the tool reads on stdin: text, null when unknown, undefined when nothing is piped. */
  stdin: { text: string | null; from: string } | undefined;
  scope: GuardScope;
  /** The environment the tool runs with (inline assignments, env VAR=… applied). */
  env: Env;
  /** The command as the user wrote it (for messages). */
  display: string;
}

export interface Finding {
  risk: Risk;
  /** "drops every table in" — completed with the target. */
  effect: string;
  /** The safe alternative, one sentence. */
  alternative?: string;
  target: Target;
}

export interface GuardRule {
  id: string;
  /** Tool names (as invoked) this rule looks at (several rules may look at one tool). */
  tools: string[];
  /** The file under src/guard/rules/ that holds it, when not `<id>.ts` (a family of rules in one file). */
  source?: string;
  severity: 'error' | 'warning';
  title: string;
  /** Why it is dangerous and the safe way. */
  explanation: string;
  /** `reason`: when given, the exact reason the first deny example gets in test/guard/fixture (tested, documented). */
  examples: { deny: string[]; allow: string[]; reason?: string };
  check(inv: Invocation, helpers: RuleHelpers): Finding | null | Promise<Finding | null>;
}

export interface RuleHelpers {
  target(spec: TargetSpec): import('../target.js').Target;
  /** Judges SQL text against a target (uses the SQL layer). */
  sql(text: string | null, target: Target, source: string): Promise<Finding | null>;
  readFile(path: string): string | null;
}

export const OPAQUE_ARG = '\u0000?';
