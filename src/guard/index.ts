/** The guard layer's public API. See docs/guard.md. */
export { decide, type DecideInput, type GuardDecision, type Decision, type JudgedFinding } from './decide.js';
export { guardRules, ruleForTool, rulesForTool } from './rules/index.js';
export type { GuardRule, Finding, Invocation, Risk } from './rules/types.js';
export { resolveTarget, ambientTarget, type Target, type TargetSpec, type GuardScope } from './target.js';
export { claudeCodeHook, denyJson } from './hook.js';
export { installClaudeCode, installShell, installGitHooks, SHIM_TOOLS } from './install.js';
