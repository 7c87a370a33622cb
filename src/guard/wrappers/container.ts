/**
 * Containers: `docker|podman [compose] exec|run … container cmd`, `kubectl|oc exec pod -- cmd`.
 * Inside a container the default connection is not this machine's (except Supabase's local
 * `supabase_db_*` container); `docker volume rm` of a database volume is its own finding.
 */
import { parseDotenv } from '../target.js';
import { OPAQUE_ARG } from '../rules/types.js';
import { fileText, next, none, tool, type Wrapper } from './types.js';

const VALUED = /^(-e|--env|-u|--user|-w|--workdir|--env-file|--name|-v|--volume|--network|--entrypoint|-p|--publish|--platform|--mount|-l|--label|--detach-keys|--rm-after)$/;

export const wrapper: Wrapper = {
  family: 'container',
  names: ['docker', 'podman', 'nerdctl', 'finch', 'kubectl', 'oc'],
  examples: [
    { command: 'docker exec -it db psql -c "drop table t"', yields: 'tool psql -c drop table t' },
    { command: 'docker compose exec db dropdb app', yields: 'tool dropdb app' },
    { command: 'kubectl exec pg-0 -- dropdb app', yields: 'tool dropdb app' },
    { command: 'docker volume rm pgdata', yields: 'tool docker-volume-rm pgdata' },
    { command: 'docker ps', yields: 'none' },
    { command: 'docker container exec db dropdb app', yields: 'tool dropdb app' },
    { command: 'kubectl exec pg-0 dropdb app', yields: 'tool dropdb app' },
    { command: 'kubectl run x --image=postgres -- dropdb app', yields: 'tool dropdb app' },
  ],
  unwrap(c) {
    const { args, name, env } = c;
    const isCompose = args[0] === 'compose';
    let a2 = isCompose ? args.slice(1) : args;
    // `docker container exec|run` is `docker exec|run`.
    if (a2[0] === 'container' && /^(exec|run)$/.test(a2[1] ?? '')) a2 = a2.slice(1);
    const sub = a2[0];
    if (name !== 'kubectl' && name !== 'oc') {
      if (sub !== 'exec' && sub !== 'run') {
        if (sub === 'volume' && (a2[1] === 'rm' || a2[1] === 'prune')) return tool(c, 'docker-volume-rm', a2.slice(2));
        // `docker rm -v` removes the container's anonymous volumes (a database's data) too.
        if ((sub === 'rm' || (sub === 'container' && a2[1] === 'rm')) && a2.some((a) => /^-[a-zA-Z]*v|^--volumes$/.test(a))) return tool(c, 'docker-volume-rm', a2.slice(sub === 'rm' ? 1 : 2).filter((a) => !a.startsWith('-')));
        return none(c);
      }
      let i = 1;
      while (i < a2.length && a2[i].startsWith('-')) {
        if (VALUED.test(a2[i])) {
          if (a2[i] === '-e' || a2[i] === '--env') {
            const kv = a2[i + 1] ?? '';
            if (kv.includes('=')) env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
          }
          // --env-file: the container gets that file's variables.
          if (a2[i] === '--env-file') Object.assign(env, parseDotenv(fileText(c, a2[i + 1] ?? '') ?? ''));
          i++;
        }
        i++;
      }
      const container = a2[i] ?? '';
      const inner = a2.slice(i + 1);
      if (sub === 'run' && inner.length === 0) return none(c);
      const local = /^supabase_db_|^supabase-db/.test(container);
      // A compose service (or an image) gets its variables from files the guard does not read: URL variables unknown.
      if (!local) for (const k of ['DATABASE_URL', 'DIRECT_URL', 'POSTGRES_URL', 'SUPABASE_DB_URL', 'DB_URL']) if (env[k] === undefined || env[k] === c.origin.env[k]) env[k] = OPAQUE_ARG;
      const sc = { ...c.scope, remote: local ? undefined : `container ${container}`, env: {} as typeof env };
      for (const k of Object.keys(env)) if (!(k in c.origin.env) || env[k] !== c.origin.env[k]) sc.env[k] = env[k];
      c.scope = sc;
      return next(inner, `${name} ${isCompose ? 'compose ' : ''}${sub} ${container}`);
    }
    if (sub === 'delete') return tool(c, 'kubectl-delete', a2.slice(1));
    // kubectl exec|run pod [options] [--] cmd (the old form without `--` too).
    if (sub !== 'exec' && sub !== 'run' && sub !== 'debug') return none(c);
    const dd = a2.indexOf('--');
    let inner: string[];
    let pod = '';
    if (dd >= 0) {
      inner = a2.slice(dd + 1);
      pod = a2.slice(1, dd).find((a) => !a.startsWith('-')) ?? '';
    } else {
      let i = 1;
      while (i < a2.length && a2[i].startsWith('-')) i += /^-(n|c|-namespace|-container|-image|-context|-kubeconfig|-env|-overrides)$/.test(a2[i]) ? 2 : 1;
      pod = a2[i] ?? '';
      inner = sub === 'exec' ? a2.slice(i + 1) : [];
    }
    if (inner.length === 0) return none(c);
    c.scope = { ...c.scope, remote: `pod ${pod}`, env: {} };
    // The pod's variables are its own, not this shell's: URL variables unknown.
    for (const k of Object.keys(c.env)) delete c.env[k];
    for (const k of ['DATABASE_URL', 'DIRECT_URL', 'POSTGRES_URL', 'SUPABASE_DB_URL', 'DB_URL']) c.env[k] = OPAQUE_ARG;
    return next(inner, `${name} ${sub}`);
  },
};
