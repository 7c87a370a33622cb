/**
 * The options several commands share, written once: the same flag, placeholder and help text
 * wherever it appears, and validation by commander (choices, parsers) instead of by hand in
 * each action. A parser throws a UsageError so a bad value is one line and exit 2, like any
 * other usage error (main.ts `fail()`).
 */
import { Option } from 'commander';
import { durationMs } from '../config/duration.js';
import { UsageError } from '../errors.js';

/** What an environment flag names; the help text says which kind the command expects. */
export type EnvKind = 'any' | 'production' | 'staging' | 'source' | 'filter';

const ENV_HELP: Record<EnvKind, string> = {
  any: 'environment name (as in prodguard.yaml)',
  production: 'a production environment',
  staging: 'a staging environment',
  source: 'environment whose backups to use (default: the production environment)',
  filter: 'only this environment',
};

/**
 * `--env <env>`. Required unless `required: false`; `description` replaces the kind's wording
 * where the command says more precisely what the environment is for.
 */
export function envOption(kind: EnvKind = 'any', opts: { required?: boolean; description?: string; many?: boolean } = {}): Option {
  const o = new Option(opts.many ? '--env <env...>' : '--env <env>', opts.description ?? ENV_HELP[kind]);
  return opts.required === false || kind === 'source' || kind === 'filter' ? o : o.makeOptionMandatory();
}

/** `--json`: the command's data as JSON on stdout (talk stays on stderr). */
export function jsonOption(description = 'output JSON'): Option {
  return new Option('--json', description);
}

/** `--key <file>`: an ed25519 private key file (prodguard keys generate). */
export function keyOption(description: string, required = true): Option {
  const o = new Option('--key <file>', description);
  return required ? o.makeOptionMandatory() : o;
}

/** `--force`: overwrite what the command would otherwise refuse to replace. */
export function forceOption(what: string): Option {
  return new Option('--force', `overwrite an existing ${what}`);
}

/** `--yes`: the confirmation a destructive command needs. */
export function yesOption(description: string): Option {
  return new Option('--yes', description);
}

/** `--reason <text>`: why, recorded in the audit log. */
export function reasonOption(description: string, required = false): Option {
  const o = new Option('--reason <text>', description);
  return required ? o.makeOptionMandatory() : o;
}

/** `--dir <dir>`: the project (or repository) directory, `.` by default. */
export function dirOption(description = 'project directory'): Option {
  return new Option('--dir <dir>', description).default('.');
}

/** An option whose value is one of `values`: listed in --help, refused with one line otherwise. */
export function choiceOption<T extends string>(flags: string, description: string, values: readonly T[], defaultValue?: T): Option {
  const o = new Option(flags, description).choices(values).argParser((v: string) => {
    if (!(values as readonly string[]).includes(v)) throw new UsageError(`${longName(flags)} must be ${orList(values)}, got "${v}"`);
    return v as T;
  });
  return defaultValue === undefined ? o : o.default(defaultValue);
}

/** An integer option within [min, max]. */
export function intOption(flags: string, description: string, range: { min: number; max?: number }, defaultValue?: number): Option {
  const o = new Option(flags, description).argParser((v: string) => parseIntIn(longName(flags), v, range));
  return defaultValue === undefined ? o : o.default(defaultValue);
}

/** A TCP port option (0 where `allowZero`: the system picks a free one). */
export function portOption(description: string, allowZero = false): Option {
  return intOption('--port <port>', description, { min: allowZero ? 0 : 1, max: 65535 });
}

/** A duration option (`30min`, `24h`, `7d`) parsed to milliseconds. */
export function durationOption(flags: string, description: string, defaultValue?: string): Option {
  const name = longName(flags);
  const o = new Option(flags, description).argParser((v: string) => parseDuration(name, v));
  return defaultValue === undefined ? o : o.default(parseDuration(name, defaultValue), defaultValue);
}

export function parseIntIn(name: string, v: string, range: { min: number; max?: number }): number {
  const n = /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < range.min || (range.max !== undefined && n > range.max)) {
    const want = range.max === undefined ? (range.min === 1 ? 'a positive integer' : `an integer ≥ ${range.min}`) : `an integer ${range.min}–${range.max}`;
    throw new UsageError(`${name} must be ${want}, got "${v}"`);
  }
  return n;
}

function parseDuration(name: string, v: string): number {
  try {
    return durationMs(v);
  } catch {
    throw new UsageError(`${name} must be a duration like 30min, 24h or 7d, got "${v}"`);
  }
}

function longName(flags: string): string {
  return flags.split(/[ ,|]+/).find((f) => f.startsWith('--')) ?? flags;
}

function orList(values: readonly string[]): string {
  return values.length <= 1 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}
