/** xargs appends the words it reads to the command; watch runs its words as a shell string. */
import { OPAQUE_ARG } from '../rules/types.js';
import { next, script, skipOptions, type Wrapper } from './types.js';

export const wrapper: Wrapper = {
  family: 'xargs',
  names: ['xargs'],
  examples: [
    { command: 'echo app | xargs dropdb', yields: 'tool dropdb app' },
    { command: 'xargs -n 1 dropdb < list', yields: 'tool dropdb \u0000?' },
  ],
  unwrap(c) {
    const i = skipOptions(c.args, /^(-[IiLlnPdsaE]|--(replace|max-args|max-procs|delimiter|arg-file|max-chars))$/);
    const rest = c.args.slice(i).length ? c.args.slice(i) : ['echo'];
    if (c.stdin && c.stdin.text !== null) return next([...rest, ...c.stdin.text.split(/\s+/).filter(Boolean)], 'xargs');
    if (c.stdin) c.opaque.push(`xargs input from ${c.stdin.from}`);
    return next([...rest, OPAQUE_ARG], 'xargs');
  },
};

export const watch: Wrapper = {
  family: 'watch',
  names: ['watch'],
  examples: [{ command: 'watch -n 5 psql -c "select 1"', yields: 'script watch' }],
  unwrap(c) {
    const i = skipOptions(c.args, /^(-(n|d)|--interval)$/);
    return script(c, c.args.slice(i).join(' '), 'watch');
  },
};
