/**
 * Interpreters (python, node, ruby, perl, …): `manage.py` is Django's tool; code given with -c/-e
 * or read from stdin, and scripts, are not followed — they are refused when they mention a
 * database or running commands (DB_HINT/DANGER_HINT) and production is reachable.
 */
import { OPAQUE_ARG } from '../rules/types.js';
import { UNKNOWN_CONTENT } from '../shell.js';
import { DANGER_HINT, DB_HINT } from './hints.js';
import { fileText, none, opaque, tool, type Wrapper } from './types.js';

// bun is a package runner first (wrappers/package-runner.ts); `bun file.ts` comes back here as node.
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
    const scriptIdx = args.findIndex((a) => !a.startsWith('-'));
    const codeFlag = args.findIndex((a) => a === '-c' || a === '-e' || a === '--eval' || a === '-p' || a === '--print' || a === 'eval' || (a === '-r' && name === 'php'));
    if (name === 'manage.py' || w0.endsWith('manage.py')) return tool(c, 'manage.py', args);
    if (codeFlag >= 0 && (scriptIdx < 0 || codeFlag < scriptIdx || args[scriptIdx - 1] === args[codeFlag])) {
      const code = args[codeFlag + 1] ?? '';
      if (code.includes(OPAQUE_ARG)) return opaque(c, `${name} code from ${c.opaque[0] ?? 'an expansion'}`);
      if (DB_HINT.test(code) || DANGER_HINT.test(code)) return opaque(c, `${name} ${args[codeFlag]} runs code that talks to a database or runs commands`);
      return none(c);
    }
    if (name === 'python3' && args[0] === '-m') {
      if (args[1] === 'django') return tool(c, 'django-admin', args.slice(2));
      return none(c);
    }
    const file = scriptIdx >= 0 ? args[scriptIdx] : undefined;
    if (file && /manage\.py$/.test(file)) return tool(c, 'manage.py', args.slice(scriptIdx + 1));
    if (!file) {
      if (c.stdin && (c.stdin.text === null || DANGER_HINT.test(c.stdin.text))) return opaque(c, `${name} runs a program read from ${c.stdin.from}`);
      return none(c);
    }
    const text = fileText(c, file);
    if (text !== null && (text.includes(UNKNOWN_CONTENT) || DANGER_HINT.test(text))) return opaque(c, `${file} contains database-destroying operations (${DANGER_HINT.exec(text)?.[0] ?? 'unknown content'}) the guard cannot follow`);
    return none(c);
  },
};
