/** ssh host 'cmd': the command runs on another machine, with none of this machine's files or variables. */
import { none, script, via, type Wrapper } from './types.js';

export const wrapper: Wrapper = {
  family: 'ssh',
  names: ['ssh'],
  examples: [
    { command: `ssh -p 22 db1 'dropdb app'`, yields: 'script ssh db1' },
    { command: 'ssh db1', yields: 'none' },
    { command: `ssh -o ProxyCommand='dropdb app' db1`, yields: 'script ssh ProxyCommand' },
  ],
  unwrap(c) {
    const { args } = c;
    let i = 0;
    // -o ProxyCommand=… / LocalCommand=… / KnownHostsCommand=… run on this machine.
    const local: string[] = [];
    while (i < args.length && args[i].startsWith('-')) {
      const o = args[i] === '-o' ? args[i + 1] ?? '' : args[i].startsWith('-o') ? args[i].slice(2) : '';
      const m = /^\s*(ProxyCommand|LocalCommand|KnownHostsCommand|RemoteCommand)\s*[= ]\s*([\s\S]*)$/i.exec(o);
      if (m && m[1].toLowerCase() !== 'remotecommand') local.push(m[2]);
      if (/^-[bcDEeFIiJLlmOopQRSWw]$/.test(args[i])) i++;
      i++;
    }
    if (local.length) return script(c, local.join('\n'), `ssh ${local.length > 1 ? 'options' : 'ProxyCommand'}`);
    const host = args[i];
    const remoteCmd = args.slice(i + 1).join(' ');
    if (!host || !remoteCmd) return none(c);
    via(c, `ssh ${host}`);
    return script(c, remoteCmd, `ssh ${host}`, { env: {}, scope: { ...c.scope, env: {}, remote: `ssh host ${host}` } });
  },
};
