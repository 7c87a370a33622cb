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
    // find itself is judged by rm-data-dir (-delete) and the protected-file check (as `rm` of its start paths); each -exec command is analysed as well.
    const out: Unwrapped[] = [{ kind: 'tool', tool: 'find', args: c.args, opaque: c.opaque, env: c.env, stdin: c.stdin, steps: c.steps, scope: c.scope }];
    if (c.args.includes('-delete')) out.push({ kind: 'tool', tool: 'rm', args: ['-rf', ...c.args.slice(0, c.args.findIndex((a) => a.startsWith('-')) >>> 0 || c.args.length).filter((a) => !a.startsWith('-'))], opaque: c.opaque, env: c.env, stdin: undefined, steps: c.steps, scope: c.scope });
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

export const monorepo: Wrapper = {
  family: 'monorepo',
  names: ['turbo', 'lerna', 'nx', 'just', 'task', 'mise', 'rtx', 'asdf'],
  examples: [
    { command: 'turbo run db:reset', yields: 'script turbo run' },
    { command: 'busybox sh -c "dropdb app"', yields: 'script sh -c' },
  ],
  unwrap(c) {
    const { args, name } = c;
    if (name === 'busybox') return next(args, 'busybox');
    if (name === 'mise' || name === 'rtx' || name === 'asdf') {
      const dd = args.indexOf('--');
      if (args[0] === 'exec' || args[0] === 'x') return dd >= 0 ? next(args.slice(dd + 1), `${name} exec`) : opaque(c, `${name} exec`, false);
      if (args[0] === 'run' || args[0] === 'r') return opaque(c, `${name} run ${args[1] ?? ''} runs a task the guard does not read`, true);
      return none(c);
    }
    if (name === 'just' || name === 'task') {
      if (args.some((a) => /^(--list|-l|--summary|--dry-run|-n|--help|-h|--version|--show|-s|--evaluate)$/.test(a))) return none(c);
      const recipe = args.find((a) => !a.startsWith('-') && !a.includes('='));
      const text = recipeOf(c, name, recipe);
      if (text === null) return opaque(c, `${name} ${recipe ?? '(default)'}: a recipe the guard cannot read`, true);
      return script(c, text, `${name} ${recipe ?? ''}`.trim());
    }
    // turbo/lerna/nx run <script> [-- args]: the package.json script of that name (root and workspaces).
    const ri = args.findIndex((a) => a === 'run' || a === 'run-many' || a === 'exec');
    if (ri < 0 && name !== 'nx') return none(c);
    if (args[ri] === 'exec') {
      const dd = args.indexOf('--');
      return dd >= 0 ? next(args.slice(dd + 1), `${name} exec`) : opaque(c, `${name} exec`, true);
    }
    const dd = args.indexOf('--');
    const scripts = args.slice(ri + 1, dd >= 0 ? dd : undefined).filter((a) => !a.startsWith('-'));
    const extra = dd >= 0 ? ' ' + args.slice(dd + 1).join(' ') : '';
    if (scripts.length === 0) return none(c);
    return script(c, scripts.map((s) => `npm run ${s.replace(/^[^:]+#/, '')} --${extra}`).join('\n'), `${name} run`);
  },
};

export const editors: Wrapper = {
  family: 'editors',
  names: ['vim', 'vi', 'nvim', 'ex', 'view', 'emacs', 'tar', 'rg', 'hash', 'sed'],
  examples: [
    { command: `vim -es -c '!dropdb app' -c q`, yields: 'script vim -c !' },
    { command: `tar -cf x.tar --checkpoint-action=exec='dropdb app' .`, yields: 'script tar' },
    { command: 'vim README.md', yields: 'tool vim README.md' },
  ],
  unwrap(c) {
    const { args, name } = c;
    if (name === 'hash') return args.includes('-p') ? opaque(c, 'hash -p maps a new name to a program the guard cannot follow') : none(c);
    const runs: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      const v = () => (a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[i + 1] ?? '');
      if (name === 'tar' && /^(--checkpoint-action|--to-command|--use-compress-program|-I|--info-script|--new-volume-script|-F|--rsh-command)(=|$)/.test(a)) runs.push(v().replace(/^exec=/, ''));
      else if (name === 'rg' && /^--pre(=|$)/.test(a)) runs.push(v());
      else if (name === 'sed' && !a.startsWith('-')) {
        // GNU sed's `e cmd` runs a command; `s/…/…/e` runs the pattern space.
        const e = /(?:^|[;\n}]|\d|\$|\/)\s*e\s+([^;\n]+)/.exec(a);
        if (e) runs.push(e[1]);
        else if (/^s(.).*\1.*\1[gpiImM0-9]*e[gpiImM0-9]*$/.test(a)) return opaque(c, 'sed s///e runs the pattern space as a command');
        if (i === 0 || !args.slice(0, i).some((x) => !x.startsWith('-'))) continue;
      }
      else if (name === 'emacs' && /^(--eval|-eval|--exec|-l|--load)(=|$)/.test(a)) return opaque(c, `emacs ${a} runs Lisp the guard cannot read`, /shell|process|call-process/.test(v()));
      else if (/^(vim|vi|nvim|ex|view)$/.test(name) && (a === '-c' || a === '--cmd' || a.startsWith('+'))) {
        const cmd = a.startsWith('+') ? a.slice(1) : args[i + 1] ?? '';
        const bang = /^:?\s*!(.*)$|^:?\s*(?:silent\s+)?!(.*)$|^:?\s*(?:r|read|w|write)\s*!(.*)$/.exec(cmd);
        if (bang) runs.push(bang[1] ?? bang[2] ?? bang[3] ?? '');
        else if (/system\(|terminal|py3?\s|lua\s|perl\s/.test(cmd)) return opaque(c, `${name} ${a} runs code the guard cannot read`);
      }
    }
    // Nothing run: the program itself (still checked for writes to protected files).
    if (runs.length === 0) return { done: [{ kind: 'tool', tool: name, args, opaque: c.opaque, env: c.env, stdin: c.stdin, steps: c.steps, scope: c.scope }] };
    if (!runs.every(known)) return opaque(c, `${name} runs a command the guard cannot see`);
    return script(c, runs.join('\n'), name === 'tar' ? 'tar' : `${name} -c !`);
  },
};

/** A justfile recipe or a Taskfile task body (commands only; dependencies first). */
function recipeOf(c: WrapCtx, name: string, recipe: string | undefined): string | null {
  if (name === 'just') {
    const text = fileText(c, 'justfile') ?? fileText(c, 'Justfile') ?? fileText(c, '.justfile');
    if (text === null) return null;
    const lines = text.split('\n');
    const start = recipe ? lines.findIndex((l) => new RegExp(`^@?${recipe.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s[^:]*)?:`).test(l)) : lines.findIndex((l) => /^@?[A-Za-z_][\w-]*(\s[^:]*)?:/.test(l));
    if (start < 0) return null;
    const body: string[] = [];
    for (const l of lines.slice(start + 1)) {
      if (!/^\s+\S/.test(l)) break;
      body.push(l.trim().replace(/^[@-]+/, ''));
    }
    return body.join('\n');
  }
  const text = fileText(c, 'Taskfile.yml') ?? fileText(c, 'Taskfile.yaml') ?? fileText(c, 'taskfile.yml');
  if (text === null) return null;
  // A light read of tasks.<name>.cmds (strings or {cmd: …}); anything else is not followed.
  const lines = text.split('\n');
  const key = recipe ?? 'default';
  const start = lines.findIndex((l) => new RegExp(`^\\s{2}['"]?${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"]?:\\s*$`).test(l));
  if (start < 0) return null;
  const body: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (/^\s{0,2}\S/.test(l)) break;
    const m = /^\s+-\s+(?:cmd:\s*)?(.+)$/.exec(l);
    if (m) body.push(m[1].replace(/^['"]|['"]$/g, ''));
  }
  return body.join('\n');
}

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
        else if (/^core\.(sshcommand|pager|editor|fsmonitor|hookspath|askpass)$|^(diff|merge|filter)\..*\.(command|driver|textconv|clean|smudge|process)$|^credential\.helper$|^sequence\.editor$/.test(key)) {
          if (!known(val)) return opaque(c, `git -c ${key} with a value the guard cannot see`);
          runs.push(scriptOf(c, val, `git ${key.replace('sshcommand', 'sshCommand')}`));
        }
      }
    }
    const sub = args[i];
    // Subcommands that run a shell string: rebase --exec/-x, bisect run, submodule foreach, difftool -x/--extcmd.
    const rest = args.slice(i + 1);
    const xi = rest.findIndex((a) => a === '--exec' || a === '-x' || a === '--extcmd' || a.startsWith('--exec=') || a.startsWith('--extcmd='));
    if ((sub === 'rebase' || sub === 'difftool' || sub === 'mergetool') && xi >= 0) {
      const v = rest[xi].includes('=') ? rest[xi].slice(rest[xi].indexOf('=') + 1) : rest[xi + 1];
      runs.push(known(v) ? scriptOf(c, v, `git ${sub} --exec`) : { kind: 'opaque', why: `git ${sub} runs a command the guard cannot see`, steps: c.steps, scope: c.scope, env: c.env, dbHint: true });
    }
    if (sub === 'bisect' && rest[0] === 'run') runs.push(scriptOf(c, rest.slice(1).join(' '), 'git bisect run'));
    if (sub === 'submodule' && rest.includes('foreach')) runs.push(scriptOf(c, rest.slice(rest.indexOf('foreach') + 1).filter((a) => !a.startsWith('--')).join(' '), 'git submodule foreach'));
    if (sub && aliases[sub.toLowerCase()] !== undefined) runs.push(scriptOf(c, [aliases[sub.toLowerCase()], ...args.slice(i + 1)].join(' '), `git alias ${sub}`));
    return { done: runs.length ? runs : [{ kind: 'tool', tool: 'git', args, opaque: c.opaque, env: c.env, stdin: c.stdin, steps: c.steps, scope: c.scope }] };
  },
};


