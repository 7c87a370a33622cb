/** Programs that run their arguments as a command after a few options: nice, nohup, time, timeout, exec, … */
import { next, none, skipOptions, type Wrapper } from './types.js';

const VALUED: Record<string, RegExp> = { nice: /^-(n|-adjustment)$/, ionice: /^-(c|n|p|t)$/, strace: /^-(e|o|p|s|u)$/, exec: /^-a$/ };

export const wrapper: Wrapper = {
  family: 'prefix',
  names: ['nice', 'ionice', 'nohup', 'time', 'command', 'builtin', 'exec', 'stdbuf', 'chrt', 'taskset', 'caffeinate', 'unbuffer', 'setsid', 'chronic', 'strace', 'ltrace'],
  examples: [
    { command: 'nice -n 5 nohup time psql', yields: 'tool psql' },
    { command: 'taskset 3 dropdb app', yields: 'tool dropdb app' },
    { command: 'command -v psql', yields: 'none' },
    { command: 'exec -a x dropdb app', yields: 'tool dropdb app' },
  ],
  unwrap(c) {
    let i = skipOptions(c.args, VALUED[c.name] ?? /^$/);
    if (c.name === 'taskset' || c.name === 'chrt') i++;
    if (c.name === 'command' && c.args[0] === '-v') return none(c);
    return next(c.args.slice(i), c.name);
  },
};

export const timeout: Wrapper = {
  family: 'timeout',
  names: ['timeout'],
  examples: [{ command: 'timeout -s KILL 60 dropdb app', yields: 'tool dropdb app' }],
  unwrap(c) {
    const i = skipOptions(c.args, /^(-(s|k)|--(signal|kill-after))$/);
    return next(c.args.slice(i + 1), 'timeout');
  },
};
