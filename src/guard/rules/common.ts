/** Shared pieces of the tool rules: how Node/Ruby/Python tools find their database. */
import type { TargetSpec } from '../target.js';
import { URL_VARS } from '../target.js';
import type { Invocation } from './types.js';

export const NODE_DOTENV = ['.env.local', '.env'];

/** The usual "DATABASE_URL from the environment or .env" target, with an explicit URL winning. */
export function appTarget(inv: Invocation, explicitUrl?: string, extraVars: string[] = []): TargetSpec {
  if (inv.opaque.length) return { opaque: `cannot resolve ${inv.opaque[0]}` };
  if (explicitUrl) return { url: explicitUrl };
  const nodeEnv = inv.env.NODE_ENV;
  const files = nodeEnv ? [`.env.${nodeEnv}.local`, `.env.${nodeEnv}`, ...NODE_DOTENV] : NODE_DOTENV;
  return { urlVars: [...extraVars, ...URL_VARS], dotenvFiles: files, ...(nodeEnv === 'production' ? { environmentName: 'production' } : {}) };
}

/** Non-option arguments; `valued` lists options (with dashes) whose next argument is their value. */
export function positionalsOf(args: string[], valued: string[] = []): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith('-')) {
      if (valued.includes(a)) i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

/** True when any argument (split or clustered short flags) sets one of these letters or long names. */
export function flag(args: string[], letters: string, longs: string[] = []): boolean {
  for (const a of args) {
    if (a === '--') break;
    if (a.startsWith('--')) {
      if (longs.includes(a.slice(2).split('=')[0])) return true;
    } else if (a.startsWith('-') && a.length > 1 && /^-[A-Za-z]+$/.test(a)) {
      for (const ch of a.slice(1)) if (letters.includes(ch)) return true;
    }
  }
  return false;
}

export function longValue(args: string[], ...names: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    for (const n of names) {
      if (args[i] === n && i + 1 < args.length) return args[i + 1];
      if (args[i].startsWith(n + '=')) return args[i].slice(n.length + 1);
    }
  }
  return undefined;
}

const RANK = { production: 3, unknown: 2, staging: 1, local: 0 } as const;

/** When two sources could decide the target (DATABASE_URL and RAILS_ENV, env and a config's own env file), the worse one counts. */
export function worstTarget<T extends { kind: keyof typeof RANK }>(...ts: T[]): T {
  return ts.reduce((w, t) => (RANK[t.kind] > RANK[w.kind] ? t : w));
}
