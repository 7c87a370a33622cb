/**
 * Connection variables `prodguard init` can offer: the names in the project's `.env*` files whose
 * values are PostgreSQL connection strings. Only names and files leave this module — a value is
 * read to recognise it and never returned, printed or written anywhere.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface FoundVariable {
  name: string;
  /** The .env file it is in, relative to the project. */
  file: string;
  /** What the name suggests: production, staging, local — or null. */
  guess: 'production' | 'staging' | 'local' | null;
}

const URL_VALUE = /^\s*(['"]?)(postgres(ql)?:\/\/)/i;

function guessOf(name: string, file: string): FoundVariable['guess'] {
  const s = `${name} ${file}`.toUpperCase();
  if (/STAG|PREVIEW|QA\b/.test(s)) return 'staging';
  if (/LOCAL|DEV\b|DEVELOPMENT|TEST/.test(s)) return 'local';
  if (/PROD|LIVE|MAIN/.test(s)) return 'production';
  return null;
}

export function findConnectionVariables(dir: string): FoundVariable[] {
  if (!existsSync(dir)) return [];
  const found: FoundVariable[] = [];
  for (const file of readdirSync(dir).filter((f) => /^\.env(\..+)?$/.test(f)).sort()) {
    const path = join(dir, file);
    if (!statSync(path).isFile()) continue;
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(line);
      if (!m || !URL_VALUE.test(m[2])) continue;
      if (!found.some((f) => f.name === m[1] && f.file === file)) found.push({ name: m[1], file, guess: guessOf(m[1], file) });
    }
  }
  return found;
}

/** The variable to offer for an environment: one whose name says so, else the given default. */
export function suggestVariable(found: FoundVariable[], kind: 'production' | 'staging' | 'local', fallback: string): string {
  return found.find((f) => f.guess === kind)?.name ?? fallback;
}
