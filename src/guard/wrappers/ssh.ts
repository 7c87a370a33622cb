/** ssh host 'cmd': the command runs on another machine, with none of this machine's files or variables. */
import { none, script, via, type Wrapper } from './types.js';

export const wrapper: Wrapper = {
  family: 'ssh',
  names: ['ssh'],
  examples: [
    { command: `ssh -p 22 db1 'dropdb app'`, yields: 'script ssh db1' },
    { command: 'ssh db1', yields: 'none' },
  ],
  unwrap(c) {
    const { args } = c;
    let i = 0;
    while (i < args.length && args[i].startsWith('-')) {
      if (/^-[bcDEeFIiJLlmOopQRSWw]$/.test(args[i])) i++;
      i++;
    }
    const host = args[i];
    const remoteCmd = args.slice(i + 1).join(' ');
    if (!host || !remoteCmd) return none(c);
    via(c, `ssh ${host}`);
    return script(c, remoteCmd, `ssh ${host}`, { env: {}, scope: { ...c.scope, env: {}, remote: `ssh host ${host}` } });
  },
};
