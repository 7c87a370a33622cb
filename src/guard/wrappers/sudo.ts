/** sudo / doas: options (some take a value), then `VAR=value` assignments, then the command. */
import { ASSIGNMENT, next, setAssignment, type Wrapper } from './types.js';

export const wrapper: Wrapper = {
  family: 'sudo',
  names: ['sudo', 'doas'],
  examples: [
    { command: 'sudo -u postgres psql -c "drop table t"', yields: 'tool psql -c drop table t' },
    { command: 'sudo -E DATABASE_URL=x prisma migrate reset', yields: 'tool prisma migrate reset' },
    { command: 'doas -- dropdb app', yields: 'tool dropdb app' },
  ],
  unwrap(c) {
    const { args } = c;
    let i = 0;
    while (i < args.length && args[i].startsWith('-')) {
      if (/^-[ugpChDrtTU]$/.test(args[i]) || /^--(user|group|prompt|close-from|host|chdir|role|type|other-user)$/.test(args[i])) i++;
      i++;
      if (args[i - 1] === '--') break;
    }
    while (i < args.length && ASSIGNMENT.test(args[i])) setAssignment(c.env, args[i++]);
    return next(args.slice(i), c.name);
  },
};
