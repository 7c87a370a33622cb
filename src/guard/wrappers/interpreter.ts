/**
 * Interpreters (python, node, ruby, perl, …): `manage.py` is Django's tool; code given with -c/-e
 * or read from stdin, and scripts, are not followed — they are refused when they mention a
 * database or running commands (DB_HINT/DANGER_HINT) and production is reachable.
 */
import { OPAQUE_ARG } from '../rules/types.js';
import { UNKNOWN_CONTENT } from '../shell.js';
import { DANGER_HINT, DB_HINT } from './hints.js';
import { parseDotenv } from '../target.js';
import { fileText, next, none, opaque, tool, type Wrapper } from './types.js';

// bun is a package runner first (wrappers/package-runner.ts); `bun file.ts` comes back here as node.
/** Code that starts other programs (the guard cannot see which). */
const SPAWNS = /child_process|subprocess|os\.system|\bsystem\(|\bspawn|execSync|execFile|popen|Deno\.run|Deno\.Command|Bun\.spawn|shell_exec|proc_open/;
/** Database drivers and ORMs. */
const DRIVER = /require\(['"](pg|postgres|knex|sequelize|typeorm|@prisma\/client|mysql2?|@supabase\/supabase-js|drizzle-orm[^'"]*)['"]\)|from ['"](pg|postgres|knex|sequelize|typeorm|@prisma\/client|@supabase\/supabase-js|drizzle-orm[^'"]*)['"]|\b(psycopg2?|asyncpg|sqlalchemy|pg8000)\b|from django\.db|require ['"]pg['"]|PG\.connect|ActiveRecord/;

/** Code that only asks a driver for its version (`print(psycopg2.__version__)`). */
const VERSION_ONLY = /__version__|\.version\b|package\.json|VERSION\b/;
/** Code that starts processes, opens connections or runs queries. */
const RUNS = /\b(connect|execute|query|exec|execSync|spawn|spawnSync|system|popen|subprocess|child_process|Deno\.run|Deno\.Command|Bun\.spawn|Bun\.\$|shell_exec|passthru|proc_open|IO\.popen|Open3|os\.system|\$\(|`)/;

/**
 * Code given on the command line, in every spelling: `-c code`, `-c'code'` (attached), `-Sc code`,
 * `-e`, `-E`, `-we`, `-pe`, `--eval=code`, `--eval code`, `-p`, `php -r`, `deno eval`.
 */
export function inlineCode(name: string, args: string[]): { code: string; flag: string } | null {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('-') && !(name === 'deno' && a === 'eval') && !(name === 'bun' && a === 'eval')) return null;
    if (a === 'eval') return { code: args[i + 1] ?? '', flag: 'eval' };
    const long = /^--(eval|print|command)(?:=([\s\S]*))?$/.exec(a);
    if (long) return { code: long[2] ?? args[i + 1] ?? '', flag: `--${long[1]}` };
    if (a.startsWith('--')) continue;
    const letters = name.startsWith('python') ? 'c' : name === 'php' ? 'r' : name === 'perl' || name === 'ruby' ? 'eE' : 'ep';
    // The code flag ends a cluster (`-Sc code`, `-we code`, `-pe code`) or, for python/perl/ruby, carries the code (`-c'…'`).
    const end = new RegExp(`^-([A-Za-z0-9]*)([${letters}])$`).exec(a);
    if (end) return { code: args[i + 1] ?? '', flag: a };
    const attached = /^(python|perl|ruby)/.test(name) ? new RegExp(`^-([A-Za-z0-9]*?)([${letters}])([\\s\\S]+)$`).exec(a) : null;
    if (attached) return { code: attached[3], flag: `-${attached[1]}${attached[2]}` };
    // Options that take a value (python -W x, -X x; node -r mod, --require mod).
    if (/^-(W|X|r|m|I|i|l)$/.test(a) && !(name.startsWith('python') && a === '-i') && !(a === '-m')) i++;
    if (a === '-m') return null;
  }
  return null;
}

export const INTERPRETER_NAMES = ['python', 'python3', 'python2', 'node', 'nodejs', 'ruby', 'perl', 'php', 'deno', 'tsx', 'ts-node'];

export const wrapper: Wrapper = {
  family: 'interpreter',
  names: INTERPRETER_NAMES,
  matches: (c) => c.name === 'manage.py' || c.w0.endsWith('manage.py'),
  examples: [
    { command: 'python manage.py flush', yields: 'tool manage.py flush' },
    { command: `python3 -c 'import psycopg; psycopg.connect()'`, yields: 'opaque' },
    { command: `node -e 'console.log(1)'`, yields: 'none' },
    { command: 'python3 -m django flush', yields: 'tool django-admin flush' },
    { command: 'python3 scripts/wipe.py', yields: 'opaque' },
  ],
  unwrap(c) {
    const { args, name, w0 } = c;
    if (name === 'manage.py' || w0.endsWith('manage.py')) return tool(c, 'manage.py', args);
    const inline = inlineCode(name, args);
    if (inline) {
      const { code, flag } = inline;
      if (code.includes(OPAQUE_ARG)) return opaque(c, `${name} code from ${c.opaque[0] ?? 'an expansion'}`);
      if (VERSION_ONLY.test(code) && !RUNS.test(code)) return none(c);
      if (DB_HINT.test(code) || DANGER_HINT.test(code) || RUNS.test(code)) return opaque(c, `${name} ${flag} runs code that talks to a database or runs commands`);
      return none(c);
    }
    // node --env-file=F loads F into the environment of the script.
    for (let i = 0; i < args.length && args[i].startsWith('-'); i++) {
      const m = /^--env-file(?:-if-exists)?(?:=(.+))?$/.exec(args[i]);
      if (m) Object.assign(c.env, parseDotenv(fileText(c, m[1] ?? args[++i] ?? '') ?? ''));
    }
    const scriptIdx = args.findIndex((a, i) => !a.startsWith('-') && !/^--env-file(-if-exists)?$/.test(args[i - 1] ?? ''));
    // node node_modules/.bin/prisma …: the package's tool.
    const bin = scriptIdx >= 0 ? /(^|\/)node_modules\/(\.bin\/|[^/]+\/(bin|dist)\/)?([\w@.-]+?)(\.c?js|\.mjs)?$/.exec(args[scriptIdx]) : null;
    if (bin && !/\.(c?js|mjs)$/.test(args[scriptIdx]) || bin && /\.bin\//.test(args[scriptIdx])) return next([bin[4], ...args.slice(scriptIdx + 1)], `${name} ${args[scriptIdx]}`);
    if (name === 'python3' && args[0] === '-m') {
      if (args[1] === 'django') return tool(c, 'django-admin', args.slice(2));
      return none(c);
    }
    const file = scriptIdx >= 0 ? args[scriptIdx] : undefined;
    if (file && /(^|\/)artisan$/.test(file)) return tool(c, 'artisan', args.slice(scriptIdx + 1));
    if (file && /manage\.py$/.test(file)) return tool(c, 'manage.py', args.slice(scriptIdx + 1));
    if (!file) {
      if (c.stdin && (c.stdin.text === null || DANGER_HINT.test(c.stdin.text) || DB_HINT.test(c.stdin.text) || RUNS.test(c.stdin.text))) return opaque(c, `${name} runs a program read from ${c.stdin.from}`);
      return none(c);
    }
    const text = fileText(c, file);
    if (text === null) return none(c);
    if (text.includes(UNKNOWN_CONTENT) || SPAWNS.test(text)) return opaque(c, `${file} ${text.includes(UNKNOWN_CONTENT) ? 'is written on this line with content the guard cannot see' : 'runs commands'} the guard cannot follow`);
    // A script that talks to a database through a driver: judged by rules/driver-script.ts with the variables it reads.
    if (DRIVER.test(text)) {
      c.stdin = { text, from: file };
      const vars = [...text.matchAll(/(?:process\.env\.|process\.env\[['"]|os\.environ(?:\.get)?\(?\[?['"]|getenv\(['"]|ENV\[['"])([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]);
      return tool(c, 'driver-script', [file, ...new Set(vars)]);
    }
    if (DANGER_HINT.test(text)) return opaque(c, `${file} contains database-destroying operations (${DANGER_HINT.exec(text)?.[0]}) the guard cannot follow`);
    return none(c);
  },
};
