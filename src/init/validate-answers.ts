/**
 * Every check `prodguard init` makes on its answers, in one place: each answer's own check (used
 * as it is typed in the interactive dialogue, to ask again) and the whole set's check before
 * anything is written (flags and final answers, one-line UsageError). Refused: a variable name that
 * is not one (a URL pasted where its variable belongs: passwords never go into prodguard.yaml), a
 * Supabase ref that is not one (the schema's own pattern), production and staging on the same
 * project, an unknown agent, CI kind, schedule or second place, a senior name that is not a name.
 */
import type { InitAnswers } from './build-config.js';
import { ENV_VAR_NAME, SUPABASE_REF } from '../config/patterns.js';
import { UsageError } from '../errors.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const AGENTS = ['claude-code', 'cursor', 'gemini'];

/** One answer's check: the problem in words, or null when the answer is good. */
export type AnswerCheck = (v: string) => string | null;

const variable: AnswerCheck = (v) => (ENV_VAR_NAME.test(v) ? null : `"${v}" is not an environment variable name (a URL never goes into prodguard.yaml)`);
const ref: AnswerCheck = (v) => (!v || SUPABASE_REF.test(v) ? null : `"${v}" is not a Supabase project ref (lowercase letters and digits)`);

export const answerChecks = {
  name: (v: string) => (NAME.test(v) ? null : `"${v}" is not a project name (letters, digits, . _ -)`),
  variable,
  /** Staging's variable: a variable name, and not production's. */
  stagingVariable: (production: string): AnswerCheck => (v) => variable(v) ?? (v === production ? 'staging cannot use the production variable' : null),
  ref,
  /** Staging's ref: a ref, and not production's. */
  stagingRef: (production: string | undefined): AnswerCheck => (v) => ref(v) ?? (v && v === production ? 'staging cannot have production\'s project ref' : null),
  seniors: (v: string) => {
    const bad = v.split(',').map((s) => s.trim()).filter((s) => s && !NAME.test(s));
    return bad.length ? `not a name: ${bad.join(', ')} (letters, digits, . _ -)` : null;
  },
  place: (v: string) => (v === 's3' || v === 'dir' ? null : `"${v}" is not s3 or dir`),
  schedule: (v: string) => (v === 'serve' || v === 'ci' ? null : `"${v}" is not serve or ci`),
  ci: (v: string) => (v === 'github' || v === 'none' ? null : `"${v}" is not github or none`),
  agents: (v: string) => {
    const bad = v.split(',').map((s) => s.trim()).filter((s) => s && s !== 'none' && !AGENTS.includes(s));
    return bad.length ? `unknown agent(s): ${bad.join(', ')} (claude-code, cursor, gemini, or none)` : null;
  },
};

/** The answers as init holds them before writing: the config's answers plus what init wires. */
export interface InitChoices extends Omit<InitAnswers, 'schedule' | 'secondPlace'> {
  secondPlace?: string;
  schedule?: string;
  /** claude-code,cursor,gemini or none. */
  agents?: string;
  /** github or none. */
  ci?: string;
}

/**
 * The whole set's check, before anything is written; throws the first problem as a one-line
 * UsageError naming the flag. `productionRefSource` names where the production ref came from.
 */
export function validateInitAnswers(a: InitChoices, productionRefSource = '--production-ref'): void {
  const fail = (flag: string, problem: string | null) => {
    if (problem) throw new UsageError(`${flag}: ${problem}`);
  };
  if (a.agents !== undefined) fail('--agents', answerChecks.agents(a.agents));
  if (a.ci !== undefined) fail('--ci', answerChecks.ci(a.ci));
  if (a.schedule !== undefined) fail('--schedule', answerChecks.schedule(a.schedule));
  fail('--senior', answerChecks.seniors(a.seniors.join(',')));
  if (a.schedule === 'ci' && a.ci !== undefined && a.ci !== 'github') throw new UsageError('--schedule ci needs the scheduled workflow: add --ci github');
  fail('--second-place', answerChecks.place(String(a.secondPlace)));
  const vars: Array<[string, string | undefined]> = [
    ['--production-url-env', a.productionUrlEnv],
    ['--staging-url-env', a.stagingUrlEnv],
    ['--local-url-env', a.localUrlEnv],
    ['--second-dir-env', a.secondDirEnv],
    ['--second-bucket-env', a.secondBucketEnv],
  ];
  for (const [flag, v] of vars) if (v !== undefined) fail(flag, answerChecks.variable(v));
  for (const [flag, v] of [[productionRefSource, a.productionRef], ['--staging-ref', a.stagingRef]] as const) if (v) fail(flag, answerChecks.ref(v));
  if (a.productionRef && a.productionRef === a.stagingRef) throw new UsageError('production and staging cannot have the same Supabase project ref');
}
