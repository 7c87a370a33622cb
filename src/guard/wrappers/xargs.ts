/** xargs appends the words it reads to the command; watch runs its words as a shell string. */
import { OPAQUE_ARG } from '../rules/types.js';
import { fileText, next, script, skipOptions, type Wrapper } from './types.js';
import { shellQuote } from './words.js';

export const wrapper: Wrapper = {
  family: 'xargs',
  names: ['xargs'],
  examples: [
    { command: 'echo app | xargs dropdb', yields: 'tool dropdb app' },
    { command: 'xargs -n 1 dropdb < list', yields: 'tool dropdb \u0000?' },
  ],
  unwrap(c) {
    const i = skipOptions(c.args, /^(-[IiLlnPdsaE]|--(replace|max-args|max-procs|delimiter|arg-file|max-chars))$/);
    let rest = c.args.slice(i).length ? c.args.slice(i) : ['echo'];
    const opts = c.args.slice(0, i);
    // -a file: the input comes from that file, not stdin.
    const ai = opts.findIndex((o) => o === '-a' || o === '--arg-file');
    const input = ai >= 0 ? { text: fileText(c, opts[ai + 1] ?? ''), from: `file ${opts[ai + 1]}` } : c.stdin;
    // -I str: each input item replaces str inside the words (then it can be a whole command string).
    const ri = opts.findIndex((o) => o === '-I' || o === '-i' || o === '--replace' || /^-I.+|^--replace=/.test(o));
    if (ri >= 0) {
      const attached = /^-I(.+)$|^--replace=(.*)$/.exec(opts[ri]);
      const token = attached ? attached[1] ?? attached[2] ?? '{}' : opts[ri] === '-i' ? '{}' : opts[ri + 1] ?? '{}';
      const items = input?.text?.split('\n').filter(Boolean);
      if (!items || items.length === 0) return next(rest.map((w) => (w.includes(token) ? OPAQUE_ARG : w)), 'xargs -I');
      // One command per input line.
      return script(c, items.map((it) => rest.map((w) => shellQuote(w.split(token).join(it))).join(' ')).join('\n'), 'xargs -I');
    }
    if (input && input.text !== null) return next([...rest, ...input.text.split(/\s+/).filter(Boolean)], 'xargs');
    if (input) c.opaque.push(`xargs input from ${input.from}`);
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
