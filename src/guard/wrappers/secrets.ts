/** Programs that load environment from files or secret stores before running a command. */
import { OPAQUE_ARG } from '../rules/types.js';
import { next, type Wrapper } from './types.js';

export const wrapper: Wrapper = {
  family: 'secrets',
  names: ['dotenv', 'dotenvx', 'doppler', 'op', 'infisical', 'with-env', 'cross-env'],
  examples: [
    { command: 'dotenv -e .env.production -- prisma migrate reset', yields: 'tool prisma migrate reset' },
    { command: 'doppler run -- psql', yields: 'tool psql' },
    { command: 'cross-env NODE_ENV=production knex migrate:latest', yields: 'tool knex migrate:latest' },
  ],
  unwrap(c) {
    const { args, name, env } = c;
    // The names they set decide the target.
    let i = ['doppler', 'op', 'infisical', 'dotenvx'].includes(name) && args[0] === 'run' ? 1 : 0;
    const envFiles: string[] = [];
    for (; i < args.length; i++) {
      const a = args[i];
      if (a === '--') {
        i++;
        break;
      }
      if ((a === '-e' || a === '-f' || a === '--env-file') && args[i + 1]) {
        envFiles.push(args[++i]);
        continue;
      }
      if (a.startsWith('-')) continue;
      if (name === 'cross-env' && a.includes('=')) {
        env[a.slice(0, a.indexOf('='))] = a.slice(a.indexOf('=') + 1);
        continue;
      }
      break;
    }
    if (name === 'doppler' || name === 'op' || name === 'infisical') {
      // Secrets come from a remote store: the URL variables are unknown.
      for (const k of ['DATABASE_URL', 'DIRECT_URL', 'POSTGRES_URL', 'SUPABASE_DB_URL']) env[k] = OPAQUE_ARG;
      c.opaque.push(`variables injected by ${name}`);
    }
    for (const f of envFiles) {
      const t = c.deps.readFile(f, c.scope);
      if (t) for (const line of t.split('\n')) {
        const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*["']?(.*?)["']?\s*$/.exec(line);
        if (m) env[m[1]] = m[2];
      }
    }
    return next(args.slice(i), name);
  },
};
