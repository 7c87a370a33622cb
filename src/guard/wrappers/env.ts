/** env: -i clears, -u unsets, VAR=value sets, -S splits a string into words. */
import { OPAQUE_ARG } from '../rules/types.js';
import { next, type Wrapper } from './types.js';

export const wrapper: Wrapper = {
  family: 'env',
  names: ['env'],
  examples: [
    { command: 'env DATABASE_URL=x npx prisma migrate reset', yields: 'tool prisma migrate reset' },
    { command: 'env -S "psql -c truncate"', yields: 'tool psql -c truncate' },
    { command: 'env -i -u HOME dropdb app', yields: 'tool dropdb app' },
  ],
  unwrap(c) {
    const { args, env } = c;
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a === '-i' || a === '--ignore-environment' || a === '-') {
        for (const k of Object.keys(env)) delete env[k];
        continue;
      }
      if (a === '-u' || a === '--unset') {
        delete env[args[++i]];
        continue;
      }
      if (a === '-C' || a === '--chdir') {
        i++;
        continue;
      }
      // env -S "cmd args": the string is split into words.
      if (a === '-S' || a === '--split-string') return next([...(args[i + 1] ?? '').split(/\s+/).filter(Boolean), ...args.slice(i + 2)], 'env -S');
      if (a.startsWith('-')) continue;
      const eq = a.indexOf('=');
      if (eq > 0) {
        env[a.slice(0, eq)] = a.slice(eq + 1);
        if (a.includes(OPAQUE_ARG)) c.opaque.push(a.slice(0, eq));
        continue;
      }
      return next(args.slice(i), 'env');
    }
    return next([], 'env');
  },
};
