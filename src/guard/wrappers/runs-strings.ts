/**
 * Programs that run a string or the rest of their words as a command: trap, su -c, runuser,
 * script -c, screen, flock, tmux, at/batch, crontab, find -exec, parallel, entr, nodemon,
 * concurrently, run-s/run-p/npm-run-all, corepack, git aliases and core.sshCommand.
 * Where the syntax is known the string is analysed like any command line.
 */
import { OPAQUE_ARG } from '../rules/types.js';
import { fileText, next, none, opaque, script, type Unwrapped, type WrapCtx, type WrapResult, type Wrapper } from './types.js';

const scriptOf = (c: WrapCtx, text: string, label: string): Unwrapped => ({ kind: 'script', text, env: c.env, steps: c.steps, scope: c.scope, label });
const known = (s: string | undefined): s is string => s !== undefined && !s.includes(OPAQUE_ARG);

function stringOrOpaque(c: WrapCtx, text: string | undefined, label: string): WrapResult {
  if (text === undefined) return none(c);
  if (!known(text)) return opaque(c, `${label} runs a string the guard cannot see`);
  return script(c, text, label);
}

export const trap: Wrapper = {
  family: 'trap',
  names: ['trap'],
  examples: [{ command: `trap 'dropdb app' EXIT`, yields: 'script trap' }, { command: 'trap - EXIT', yields: 'none' }],
  unwrap: (c) => (c.args[0] && c.args[0] !== '-' && !c.args[0].startsWith('-') ? stringOrOpaque(c, c.args[0], 'trap') : none(c)),
};

export const su: Wrapper = {
  family: 'su',
  names: ['su', 'runuser', 'sg', 'pkexec', 'chroot', 'unshare', 'nsenter', 'firejail', 'proot'],
  examples: [
    { command: `su postgres -c 'dropdb app'`, yields: 'script su -c' },
    { command: 'runuser -u postgres -- dropdb app', yields: 'tool dropdb app' },
    { command: 'pkexec dropdb app', yields: 'tool dropdb app' },
  ],
  unwrap(c) {
    const { args } = c;
    const ci = args.findIndex((a) => a === '-c' || a === '--command' || a === '--session-command');
    if (ci >= 0) return stringOrOpaque(c, args[ci + 1], `${c.name} -c`);
    const dd = args.indexOf('--');
    if (dd >= 0) return next(args.slice(dd + 1), c.name);
    if (c.name === 'su') return none(c);
    // runuser -u user cmd…, pkexec cmd…, chroot dir cmd…: skip options (and their values), then the command.
    let i = 0;
    while (i < args.length && args[i].startsWith('-')) i += /^-(u|g|G|-user|-group)$/.test(args[i]) ? 2 : 1;
    if (c.name === 'chroot' || c.name === 'sg') i++;
    return next(args.slice(i), c.name);
  },
};

export const scriptCmd: Wrapper = {
  family: 'script',
  names: ['script'],
  examples: [{ command: `script -qc 'dropdb app' /dev/null`, yields: 'script script -c' }],
  unwrap(c) {
    const i = c.args.findIndex((a) => a === '-c' || a === '--command' || /^-[a-zA-Z]*c$/.test(a));
    if (i >= 0) return stringOrOpaque(c, c.args[i + 1], 'script -c');
    const eq = c.args.find((a) => a.startsWith('--command='));
    return eq ? stringOrOpaque(c, eq.slice(10), 'script -c') : none(c);
  },
};

export const detached: Wrapper = {
  family: 'detached',
  names: ['screen', 'flock', 'dtach', 'abduco', 'daemonize', 'start-stop-daemon'],
  examples: [
    { command: 'screen -dmS x dropdb app', yields: 'tool dropdb app' },
    { command: `flock /tmp/l -c 'dropdb app'`, yields: 'script flock -c' },
    { command: 'flock -n /tmp/l dropdb app', yields: 'tool dropdb app' },
  ],
  unwrap(c) {
    const { args } = c;
    const ci = args.findIndex((a) => a === '-c' || a === '--command');
    if (c.name === 'flock' && ci >= 0) return stringOrOpaque(c, args[ci + 1], 'flock -c');
    let i = 0;
    while (i < args.length && args[i].startsWith('-')) i += /^-(S|dmS|w|E|-timeout|-conflict-exit-code)$/.test(args[i]) ? 2 : 1;
    if (c.name === 'flock') i++; // the lock file
    if (c.name === 'dtach' || c.name === 'abduco') i++;
    return next(args.slice(i), c.name);
  },
};

export const tmux: Wrapper = {
  family: 'tmux',
  names: ['tmux'],
  examples: [
    { command: `tmux new-session -d 'dropdb app'`, yields: 'script tmux' },
    { command: 'tmux send-keys -t 0 "dropdb app" Enter', yields: 'script tmux send-keys' },
    { command: 'tmux ls', yields: 'none' },
  ],
  unwrap(c) {
    const sub = c.args.findIndex((a) => !a.startsWith('-'));
    const verb = c.args[sub];
    const rest = c.args.slice(sub + 1);
    const words: string[] = [];
    for (let i = 0; i < rest.length; i++) {
      if (/^-[tcsnFeIwlxy]$/.test(rest[i])) i++;
      else if (!rest[i].startsWith('-')) words.push(rest[i]);
    }
    if (verb === 'send-keys' || verb === 'send') return stringOrOpaque(c, words.filter((w) => !/^(Enter|C-m|KPEnter)$/.test(w)).join(' '), 'tmux send-keys');
    if (['new-session', 'new', 'new-window', 'neww', 'split-window', 'splitw', 'respawn-pane', 'respawn-window', 'run-shell', 'run', 'if-shell', 'display-popup', 'popup'].includes(verb ?? '')) return words.length ? stringOrOpaque(c, words.join(' '), 'tmux') : none(c);
    return none(c);
  },
};

export const at: Wrapper = {
  family: 'at',
  names: ['at', 'batch', 'crontab'],
  examples: [
    { command: `echo 'dropdb app' | at now`, yields: 'script at' },
    { command: `echo '* * * * * dropdb app' | crontab -`, yields: 'script crontab' },
    { command: 'crontab -l', yields: 'none' },
  ],
  unwrap(c) {
    const fi = c.args.indexOf('-f');
    let text: string | null | undefined;
    if (c.name === 'crontab') {
      if (c.args.some((a) => /^-[lre]$/.test(a))) return none(c);
      const file = c.args.find((a) => !a.startsWith('-') || a === '-');
      text = !file || file === '-' ? c.stdin?.text : fileText(c, file);
      if (text === undefined) return none(c);
      if (text === null) return opaque(c, 'crontab installs lines the guard cannot see');
      // Each line: five time fields (or @daily…) and a command.
      const lines = text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#') && !/^\s*[A-Z_]+=/.test(l));
      return script(c, lines.map((l) => l.trim().replace(/^(@\w+|(\S+\s+){5})/, '')).join('\n'), 'crontab');
    }
    text = fi >= 0 ? fileText(c, c.args[fi + 1]) : c.stdin?.text;
    if (text === undefined) return none(c);
    if (text === null) return opaque(c, `${c.name} runs commands the guard cannot see`);
    return script(c, text, c.name);
  },
};

export const find: Wrapper = {
  family: 'find',
  names: ['find'],
  examples: [
    { command: String.raw`find . -name x -exec dropdb {} \;`, yields: 'tool find . -name x -exec dropdb {} ;' },
    { command: 'find . -name "*.log"', yields: 'tool find . -name *.log' },
  ],
  unwrap(c) {
    // find itself is judged by rm-data-dir (-delete); each -exec command is analysed as well.
    const out: Unwrapped[] = [{ kind: 'tool', tool: 'find', args: c.args, opaque: c.opaque, env: c.env, stdin: c.stdin, steps: c.steps, scope: c.scope }];
    for (let i = 0; i < c.args.length; i++) {
      if (!/^-(exec|execdir|ok|okdir)$/.test(c.args[i])) continue;
      const end = c.args.findIndex((a, j) => j > i && (a === ';' || a === '+'));
      const words = c.args.slice(i + 1, end < 0 ? undefined : end).map((w) => (w === '{}' ? './found-file' : w));
      if (words.length) out.push(scriptOf(c, words.map((w) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' '), `find ${c.args[i]}`));
      i = end < 0 ? c.args.length : end;
    }
    return { done: out };
  },
};

export const parallel: Wrapper = {
  family: 'parallel',
  names: ['parallel', 'entr', 'watchexec', 'chokidar', 'onchange'],
  examples: [
    { command: `parallel ::: 'dropdb app'`, yields: 'script parallel' },
    { command: `entr -s 'dropdb app'`, yields: 'script entr -s' },
  ],
  unwrap(c) {
    const { args } = c;
    const sep = args.indexOf(':::');
    if (c.name === 'parallel') {
      const before = args.slice(0, sep < 0 ? undefined : sep).filter((a) => !a.startsWith('-'));
      if (before.length === 0 && sep >= 0) return stringOrOpaque(c, args.slice(sep + 1).join('\n'), 'parallel');
      return next([...before, OPAQUE_ARG], 'parallel');
    }
    const si = args.findIndex((a) => a === '-s' || a === '--shell' || a === '-c' || a === '--');
    if (si >= 0 && args[si] !== '--') return stringOrOpaque(c, args[si + 1], `${c.name} ${args[si]}`);
    if (si >= 0) return next(args.slice(si + 1), c.name);
    const words = args.filter((a) => !a.startsWith('-'));
    return words.length ? stringOrOpaque(c, words.join(' '), c.name) : none(c);
  },
};

export const nodeRunners: Wrapper = {
  family: 'node-runners',
  names: ['nodemon', 'concurrently', 'run-s', 'run-p', 'npm-run-all', 'npm-run-all2', 'corepack', 'ts-node-dev', 'tsx-watch'],
  examples: [
    { command: `nodemon --exec 'dropdb app'`, yields: 'script nodemon --exec' },
    { command: `concurrently 'dropdb app' 'npm:dev'`, yields: 'script concurrently' },
    { command: 'run-s build db:reset', yields: 'script run-s' },
    { command: 'corepack pnpm db:reset', yields: 'script package.json script "db:reset"' },
  ],
  unwrap(c) {
    const { args, name } = c;
    if (name === 'corepack') return args[0] === 'enable' || args[0] === 'disable' || args[0] === 'prepare' || args[0] === 'install' ? none(c) : next(args, 'corepack');
    if (name === 'nodemon' || name === 'ts-node-dev' || name === 'tsx-watch') {
      const i = args.findIndex((a) => a === '--exec' || a === '-x');
      if (i >= 0) return stringOrOpaque(c, args[i + 1], 'nodemon --exec');
      const file = args.find((a) => !a.startsWith('-'));
      return file ? next(['node', file], name) : none(c);
    }
    if (name === 'concurrently') {
      const cmds: string[] = [];
      for (let i = 0; i < args.length; i++) {
        if (/^-(n|c|p|k|s|-names|-prefix|-prefix-colors|-success|-kill-others-on-fail|-restart-tries|-max-processes|m)$/.test(args[i])) i++;
        else if (!args[i].startsWith('-')) cmds.push(/^(npm|yarn|pnpm|bun):/.test(args[i]) ? `${args[i].split(':')[0]} run ${args[i].slice(args[i].indexOf(':') + 1)}` : args[i]);
      }
      return cmds.length ? stringOrOpaque(c, cmds.join('\n'), 'concurrently') : none(c);
    }
    // run-s / run-p / npm-run-all: the words are package.json script names (globs).
    const names = args.filter((a) => !a.startsWith('-'));
    if (names.some((n) => /[*?]/.test(n))) return opaque(c, `${name} runs scripts matched by a pattern`, true);
    return names.length ? stringOrOpaque(c, names.map((n) => `npm run ${n}`).join('\n'), name) : none(c);
  },
};

export const git: Wrapper = {
  family: 'git',
  names: ['git'],
  examples: [
    { command: `git -c alias.x='!dropdb app' x`, yields: 'script git alias x' },
    { command: `git -c core.sshCommand='dropdb app' fetch`, yields: 'script git core.sshCommand' },
    { command: 'git status', yields: 'tool git status' },
  ],
  unwrap(c) {
    const { args } = c;
    // git -c alias.NAME='!cmd' NAME, -c core.sshCommand/pager/editor/fsmonitor=cmd: commands git runs.
    const aliases: Record<string, string> = {};
    const runs: Unwrapped[] = [];
    let i = 0;
    for (; i < args.length && args[i].startsWith('-'); i++) {
      if (args[i] === '-C' || args[i] === '--git-dir' || args[i] === '--work-tree' || args[i] === '--namespace') i++;
      else if (args[i] === '-c' || args[i].startsWith('--config-env')) {
        const kv = args[++i] ?? '';
        const eq = kv.indexOf('=');
        const key = kv.slice(0, eq).toLowerCase();
        const val = kv.slice(eq + 1);
        if (key.startsWith('alias.') && val.startsWith('!')) aliases[key.slice(6)] = val.slice(1);
        else if (/^core\.(sshcommand|pager|editor|fsmonitor|hookspath|askpass)$|^(diff|merge)\..*\.(command|driver|textconv)$|^credential\.helper$|^sequence\.editor$/.test(key)) {
          if (!known(val)) return opaque(c, `git -c ${key} with a value the guard cannot see`);
          runs.push(scriptOf(c, val, `git ${key.replace('sshcommand', 'sshCommand')}`));
        }
      }
    }
    const sub = args[i];
    if (sub && aliases[sub.toLowerCase()] !== undefined) runs.push(scriptOf(c, [aliases[sub.toLowerCase()], ...args.slice(i + 1)].join(' '), `git alias ${sub}`));
    return { done: runs.length ? runs : [{ kind: 'tool', tool: 'git', args, opaque: c.opaque, env: c.env, stdin: c.stdin, steps: c.steps, scope: c.scope }] };
  },
};


