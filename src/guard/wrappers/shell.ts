/** Shells and shell builtins that run strings: `bash -c`, `sh script.sh`, a shell reading stdin, eval, source, alias. */
import { UNKNOWN_CONTENT } from '../shell.js';
import { OPAQUE_ARG } from '../rules/types.js';
import { scriptFile } from './script-file.js';
import { DATA_ONLY } from '../mentions.js';
import { fileText, none, opaque, script, via, type Wrapper } from './types.js';

/** Paths that are the command's own standard input. */
const STDIN_PATH = /^\/(dev\/stdin|dev\/fd\/0|proc\/self\/fd\/0)$/;

const ENV_SETUP = /(^|\/)(nvm\.sh|bash_completion|\.cargo\/env|conda\.sh|asdf\.sh|(\.?venv|env|virtualenv)\/bin\/activate(\.fish)?|\.sdkman\/bin\/sdkman-init\.sh)$/;

export const SHELL_NAMES = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'ash', 'fish', 'busybox']);

export const shells: Wrapper = {
  family: 'shell',
  names: [...SHELL_NAMES],
  examples: [
    { command: `bash -c 'dropdb app'`, yields: 'script bash -c' },
    { command: `sh -xc 'dropdb app'`, yields: 'script sh -c' },
    { command: 'echo "dropdb app" | bash', yields: 'script bash reading echo "dropdb app"' },
    { command: 'bash "$(mktemp)"', yields: 'opaque' },
    { command: 'bash', yields: 'none' },
    { command: 'bash -n scripts/reset-prod.sh', yields: 'none' },
  ],
  unwrap(c) {
    const { args, name } = c;
    // busybox sh -c …, busybox dropdb …: the applet is the next word.
    if (name === 'busybox') return { next: args, via: 'busybox' };
    let i = 0;
    let cmdText: string | null = null;
    let readsStdin = false;
    // -n reads commands without running them (a syntax check).
    if (args.some((a) => a === '-n' || a === '--noexec' || (/^-[a-zA-Z]*n[a-zA-Z]*$/.test(a) && !/c/.test(a)))) return none(c);
    for (; i < args.length; i++) {
      const a = args[i];
      if (a === '-c' || (/^-[a-zA-Z]*c[a-zA-Z]*$/.test(a) && !a.startsWith('--'))) {
        cmdText = args[i + 1] ?? '';
        break;
      }
      if (a === '-s' || a === '-') {
        readsStdin = true;
        break;
      }
      if (a === '-o' || a === '+o' || a === '-O' || a === '+O' || a === '--rcfile' || a === '--init-file') {
        i++;
        continue;
      }
      if (a.startsWith('-') || a.startsWith('+')) continue;
      break;
    }
    if (cmdText !== null) {
      if (cmdText.includes(OPAQUE_ARG)) return opaque(c, `${name} -c with ${c.opaque[0] ?? 'an expansion'}`);
      via(c, `${name} -c`);
      return script(c, cmdText, `${name} -c`);
    }
    // `bash /dev/stdin <<< …`, `sh /proc/self/fd/0`: the script is what the command gets on stdin.
    const file = readsStdin || STDIN_PATH.test(args[i] ?? '') ? undefined : args[i];
    if (file === undefined) {
      if (!c.stdin) return none(c);
      if (c.stdin.text === null) return opaque(c, `${name} runs a script read from ${c.stdin.from}`);
      via(c, `${name} < stdin`);
      return script(c, c.stdin.text, `${name} reading ${c.stdin.from}`);
    }
    // The script's positional parameters: `sh truncate.sh "$DATABASE_URL"` gives $1.
    const params = args.slice(i + 1);
    params.forEach((v, k) => (c.env[String(k + 1)] = v));
    c.env['@'] = c.env['*'] = params.join(' ');
    return { done: [scriptFile(c, file, name)] };
  },
};

export const evalBuiltin: Wrapper = {
  family: 'eval',
  names: ['eval'],
  examples: [
    { command: `eval 'dropdb app'`, yields: 'script eval' },
    { command: 'eval "$X"', yields: 'opaque' },
  ],
  unwrap(c) {
    // `eval "$(direnv export bash)"`, `eval "$(ssh-agent -s)"`: shell setup, prints variable assignments.
    if (/^eval\s+"?\$\((direnv export|ssh-agent|pyenv init|pyenv virtualenv-init|rbenv init|nodenv init|goenv init|brew shellenv|fnm env|mise activate|rtx activate|starship init|zoxide init|opam env|keychain|conda shell\.\w+ hook|\/opt\/homebrew\/bin\/brew shellenv)\b[^)]*\)"?\s*$/.test(c.cmd.text.trim())) return none(c);
    if (c.args.some((a) => a === OPAQUE_ARG)) return opaque(c, `eval of ${c.opaque[0] ?? 'an expansion'}`);
    return script(c, c.args.join(' '), 'eval');
  },
};

export const alias: Wrapper = {
  family: 'alias',
  names: ['alias'],
  examples: [
    { command: `alias s=supabase`, yields: 'opaque' },
    { command: 'alias', yields: 'nothing' },
    { command: `alias ll='ls -la'`, yields: 'nothing' },
  ],
  unwrap(c) {
    // An alias makes a new name for any command, and the guard cannot follow it to where it is
    // used (bash may expand it on a later line); a definition with a value is not analysable.
    const defs = c.args.filter((a) => a.includes('='));
    if (defs.length === 0) return { done: [] };
    // A shorthand for a data-only program (`alias ll='ls -la'`, `alias gs='git status'`) renames nothing dangerous.
    const harmless = defs.every((d) => {
      const value = d.slice(d.indexOf('=') + 1).trim();
      const first = value.split(/\s+/)[0] ?? '';
      return /^[A-Za-z0-9 _./:=@%+,-]*$/.test(value) && DATA_ONLY.has(first) && !value.split(/\s+/).some((w) => /^-c$|--config/.test(w));
    });
    if (harmless) return { done: [] };
    return opaque(c, `alias ${defs.map((d) => d.slice(0, d.indexOf('='))).join(', ')} renames a command the guard cannot follow`);
  },
};

export const source: Wrapper = {
  family: 'source',
  names: ['source', '.'],
  examples: [
    { command: 'source scripts/reset-prod.sh', yields: 'script source scripts/reset-prod.sh' },
    { command: '. ./nope.sh', yields: 'opaque' },
  ],
  unwrap(c) {
    const f = c.args[0];
    if (!f || f === OPAQUE_ARG) return opaque(c, 'source of a file the guard cannot name');
    if (STDIN_PATH.test(f)) {
      if (!c.stdin || c.stdin.text === null) return opaque(c, `source of ${f}: a script read from ${c.stdin?.from ?? 'the terminal'}`);
      return script(c, c.stdin.text, `source ${f} reading ${c.stdin.from}`);
    }
    const text = fileText(c, f);
    // Environment setup that every developer sources (nvm, a virtualenv, cargo, conda).
    if (text === null && ENV_SETUP.test(f)) return none(c);
    if (text === null || text.includes(UNKNOWN_CONTENT)) return opaque(c, `${f} cannot be read`);
    return script(c, text, `source ${f}`);
  },
};
