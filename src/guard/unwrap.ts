/**
 * From a simple command to the tool that really runs: strips wrappers (sudo, env, nice, time,
 * timeout, xargs, npx/dlx, bundle exec, docker exec, ssh), follows bash -c / eval / scripts /
 * package.json scripts / Makefile targets, and reports what it cannot see into.
 */
import { basename } from 'node:path';
import type { SimpleCommand, Stdin } from './shell.js';
import { pipeText, UNKNOWN_CONTENT } from './shell.js';
import { OPAQUE_ARG } from './rules/types.js';
import type { Env, GuardScope } from './target.js';

export interface Step {
  /** The words at this level (for --explain and custom rules). */
  words: string[];
  /** What was unwrapped to get here: "sudo", "bash -c", "npm run db:reset", … */
  via: string;
}

export type Unwrapped =
  | { kind: 'tool'; tool: string; args: string[]; opaque: string[]; env: Env; stdin: { text: string | null; from: string } | undefined; steps: Step[]; scope: GuardScope }
  | { kind: 'script'; text: string; env: Env; steps: Step[]; scope: GuardScope; stdin?: Stdin; label: string }
  | { kind: 'opaque'; why: string; steps: Step[]; scope: GuardScope; env: Env; dbHint: boolean }
  | { kind: 'none'; steps: Step[] };

const RESERVED = new Set(['if', 'then', 'else', 'elif', 'fi', 'for', 'while', 'until', 'do', 'done', 'case', 'esac', '{', '}', '!', '[[', ']]', 'function', 'select', 'coproc']);
const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'ash', 'fish', 'busybox']);
const INTERPRETERS = new Set(['python', 'python3', 'python2', 'node', 'nodejs', 'ruby', 'perl', 'php', 'deno', 'bun', 'tsx', 'ts-node']);
const DB_HINT = /psycopg|sqlalchemy|asyncpg|\bpg\b|postgres|supabase|prisma|knex|sequelize|typeorm|drizzle|database|\bsql\b|\bdrop\s|truncate|delete\s+from|execSync|subprocess|child_process|os\.system|system\(|spawn/i;
const DANGER_HINT = /\bdrop\s+(table|schema|database|owned|view|function|role)|\btruncate\b|delete\s+from|db\s+reset|dropdb|migrate\s+reset|db:drop|\bflush\b|pg_restore|--clean|reset_db|schema:drop|rm\s+-rf/i;

/** Tool name as invoked: basename, without @version (npx supabase@latest), without .exe. */
export function toolName(word: string): string {
  let w = basename(word);
  if (word.startsWith('@')) w = word.replace(/^@[^/]+\//, '');
  w = w.replace(/@[^@/]*$/, '').replace(/\.exe$/i, '');
  if (/^python\d[\d.]*$/.test(w)) return 'python3';
  return w;
}

const PKG_TOOL_ALIASES: Record<string, string> = { 'sequelize-cli': 'sequelize', 'supabase-cli': 'supabase', '@prisma/cli': 'prisma' };

function stdinOf(cmd: SimpleCommand, files: Map<string, string>, readFile: (p: string) => string | null): { text: string | null; from: string } | undefined {
  const s = cmd.stdin;
  if (s.kind === 'none') return undefined;
  if (s.kind === 'text') return { text: s.text.includes(UNKNOWN_CONTENT) ? null : s.text, from: s.from };
  if (s.kind === 'file') {
    if (s.path === null) return { text: null, from: 'a file the guard cannot name' };
    const t = files.get(s.path) ?? readFile(s.path);
    return { text: t === null || t.includes(UNKNOWN_CONTENT) ? null : t, from: `file ${s.path}` };
  }
  const t = pipeText(s.from);
  const last = s.from[s.from.length - 1];
  return { text: t === null || t.includes(UNKNOWN_CONTENT) ? null : t, from: last ? last.text.slice(0, 80) : 'a pipe' };
}

export interface UnwrapDeps {
  readFile(path: string, scope: GuardScope): string | null;
  /** package.json scripts in the scope's directory. */
  scripts(scope: GuardScope): Record<string, string> | null;
  /** Makefile recipe lines for a target (with dependencies first), or null. */
  makeRecipe(scope: GuardScope, target: string | null, makefile?: string): string[] | null;
}

export function unwrap(cmd: SimpleCommand, scope: GuardScope, files: Map<string, string>, deps: UnwrapDeps): Unwrapped[] {
  const env: Env = { ...scope.env };
  const opaque: string[] = [];
  for (const a of cmd.assigns) {
    if (a.value === null) opaque.push(`$${a.name}`);
    env[a.name] = a.value ?? undefined;
  }
  let words: string[] = cmd.words.map((w) => {
    if (w.value === null) opaque.push(w.why ?? w.raw);
    return w.value ?? OPAQUE_ARG;
  });
  const steps: Step[] = [];
  const stdin = stdinOf(cmd, files, (p) => deps.readFile(p, scope));
  const out: Unwrapped[] = [];
  let sc = scope;

  for (let guard = 0; guard < 40; guard++) {
    if (words.length === 0) return out.length ? out : [{ kind: 'none', steps }];
    steps.push({ words: [...words], via: steps.length ? steps[steps.length - 1].via : 'command' });
    const w0 = words[0];
    // VAR=value after a wrapper (`timeout 60 FOO=1 cmd`): count it as an assignment (fail closed).
    if (steps.length > 1 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(w0)) {
      const eq = w0.indexOf('=');
      env[w0.slice(0, eq)] = w0.slice(eq + 1);
      words = words.slice(1);
      steps.pop();
      continue;
    }
    if (w0 === OPAQUE_ARG) {
      return [...out, { kind: 'opaque', why: `the command name comes from ${cmd.words[0]?.why ?? cmd.words[0]?.raw ?? 'an expansion'}`, steps, scope: sc, env, dbHint: true }];
    }
    const name = toolName(w0);
    const args = words.slice(1);
    // A shell keyword where a program is expected (`timeout 9 if …`, `sudo ! …`, `nice { …; }`):
    // the shell and the guard may read this differently, so it is not trusted.
    if (steps.length > 1 && RESERVED.has(w0)) {
      return [...out, { kind: 'opaque', why: `the shell keyword "${w0}" is used as a program name`, steps, scope: sc, env, dbHint: true }];
    }
    const next = (rest: string[], via: string) => {
      words = rest;
      steps[steps.length - 1].via = via;
    };
    switch (name) {
      case 'sudo':
      case 'doas': {
        let i = 0;
        while (i < args.length && args[i].startsWith('-')) {
          if (/^-[ugpChDrtTU]$/.test(args[i]) || /^--(user|group|prompt|close-from|host|chdir|role|type|other-user)$/.test(args[i])) i++;
          i++;
          if (args[i - 1] === '--') break;
        }
        // sudo FOO=bar cmd
        while (i < args.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(args[i])) {
          const eq = args[i].indexOf('=');
          env[args[i].slice(0, eq)] = args[i].slice(eq + 1);
          i++;
        }
        next(args.slice(i), name);
        continue;
      }
      case 'env': {
        let i = 0;
        for (; i < args.length; i++) {
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
          if (a === '-S' || a === '--split-string') {
            // env -S "cmd args": the string is split into words.
            const rest = (args[i + 1] ?? '').split(/\s+/).filter(Boolean);
            words = [...rest, ...args.slice(i + 2)];
            i = -1;
            break;
          }
          if (a.startsWith('-')) continue;
          const eq = a.indexOf('=');
          if (eq > 0) {
            env[a.slice(0, eq)] = a.slice(eq + 1);
            if (a.includes(OPAQUE_ARG)) opaque.push(a.slice(0, eq));
            continue;
          }
          break;
        }
        if (i === -1) {
          steps[steps.length - 1].via = 'env -S';
          continue;
        }
        next(args.slice(i), 'env');
        continue;
      }
      case 'nice':
      case 'ionice':
      case 'nohup':
      case 'time':
      case 'command':
      case 'builtin':
      case 'exec':
      case 'stdbuf':
      case 'chrt':
      case 'taskset':
      case 'caffeinate':
      case 'unbuffer':
      case 'setsid':
      case 'chronic':
      case 'strace':
      case 'ltrace': {
        let i = 0;
        const valued = name === 'nice' ? /^-(n|-adjustment)$/ : name === 'ionice' ? /^-(c|n|p|t)$/ : name === 'strace' ? /^-(e|o|p|s|u)$/ : name === 'exec' ? /^-a$/ : /^$/;
        while (i < args.length && args[i].startsWith('-')) {
          if (valued.test(args[i])) i++;
          i++;
        }
        if (name === 'taskset' || name === 'chrt') i++;
        if (name === 'command' && args[0] === '-v') return out.length ? out : [{ kind: 'none', steps }];
        next(args.slice(i), name);
        continue;
      }
      case 'timeout': {
        let i = 0;
        while (i < args.length && args[i].startsWith('-')) {
          if (/^-(s|k)$/.test(args[i]) || /^--(signal|kill-after)$/.test(args[i])) i++;
          i++;
        }
        next(args.slice(i + 1), 'timeout');
        continue;
      }
      case 'watch': {
        let i = 0;
        while (i < args.length && args[i].startsWith('-')) {
          if (/^-(n|d)$/.test(args[i]) || /^--(interval)$/.test(args[i])) i++;
          i++;
        }
        return [...out, { kind: 'script', text: args.slice(i).join(' '), env, steps, scope: sc, label: 'watch' }];
      }
      case 'xargs': {
        let i = 0;
        while (i < args.length && args[i].startsWith('-')) {
          if (/^-[IiLlnPdsaE]$/.test(args[i]) || /^--(replace|max-args|max-procs|delimiter|arg-file|max-chars)$/.test(args[i])) i++;
          i++;
        }
        const rest = args.slice(i).length ? args.slice(i) : ['echo'];
        if (stdin && stdin.text !== null) {
          const extra = stdin.text.split(/\s+/).filter(Boolean);
          next([...rest, ...extra], 'xargs');
        } else {
          if (stdin) opaque.push(`xargs input from ${stdin.from}`);
          next([...rest, OPAQUE_ARG], 'xargs');
        }
        continue;
      }
      case 'npx':
      case 'bunx':
      case 'pnpx': {
        let i = 0;
        while (i < args.length && args[i].startsWith('-')) {
          if (/^-(p|c)$/.test(args[i]) || /^--(package|call)$/.test(args[i])) {
            if (args[i] === '-c' || args[i] === '--call') return [...out, { kind: 'script', text: args[i + 1] ?? '', env, steps, scope: sc, label: 'npx -c' }];
            i++;
          }
          i++;
          if (args[i - 1] === '--') break;
        }
        next(args.slice(i), name);
        continue;
      }
      case 'bundle':
        if (args[0] === 'exec') {
          next(args.slice(1), 'bundle exec');
          continue;
        }
        return out.length ? out : [{ kind: 'none', steps }];
      case 'poetry':
      case 'pipenv':
      case 'uv':
        if (args[0] === 'run') {
          next(args.slice(1), `${name} run`);
          continue;
        }
        return out.length ? out : [{ kind: 'none', steps }];
      case 'dotenv':
      case 'dotenvx':
      case 'doppler':
      case 'op':
      case 'infisical':
      case 'with-env':
      case 'cross-env': {
        // These load environment from files/secret stores; the names they set decide the target.
        let i = 0;
        if (['doppler', 'op', 'infisical', 'dotenvx'].includes(name) && args[0] === 'run') i = 1;
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
          opaque.push(`variables injected by ${name}`);
        }
        for (const f of envFiles) {
          const t = deps.readFile(f, sc);
          if (t) for (const line of t.split('\n')) {
            const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*["']?(.*?)["']?\s*$/.exec(line);
            if (m) env[m[1]] = m[2];
          }
        }
        next(args.slice(i), name);
        continue;
      }
      case 'pnpm':
      case 'yarn':
      case 'npm':
      case 'bun': {
        const sub = args[0];
        if ((name === 'pnpm' || name === 'yarn') && (sub === 'dlx' || sub === 'exec')) {
          let i = 1;
          while (i < args.length && args[i].startsWith('-')) {
            if (/^(-p|--package)$/.test(args[i])) i++;
            i++;
          }
          next(args.slice(i), `${name} ${sub}`);
          continue;
        }
        if ((name === 'npm' && sub === 'exec') || (name === 'bun' && sub === 'x')) {
          let i = 1;
          while (i < args.length && args[i].startsWith('-')) {
            if (/^(-p|--package)$/.test(args[i])) i++;
            i++;
            if (args[i - 1] === '--') break;
          }
          if (args[i] === '--') i++;
          next(args.slice(i), `${name} ${sub}`);
          continue;
        }
        const scripts = deps.scripts(sc);
        let script: string | undefined;
        let rest: string[] = [];
        if (sub === 'run' || sub === 'run-script' || sub === 'rum' || sub === 'urn') {
          const flags = args.slice(1).filter((a) => a.startsWith('-') && a !== '--');
          const pos = args.slice(1).filter((a) => !a.startsWith('-') || a === '--');
          void flags;
          script = pos[0];
          rest = pos.slice(1).filter((a) => a !== '--');
        } else if (name !== 'npm' && sub && !sub.startsWith('-')) {
          script = sub;
          rest = args.slice(1).filter((a) => a !== '--');
          if (!scripts?.[script] && (name === 'yarn' || name === 'pnpm' || name === 'bun')) {
            // `yarn prisma migrate reset` runs the package binary.
            const builtins = new Set(['install', 'add', 'remove', 'i', 'up', 'upgrade', 'init', 'create', 'test', 'build', 'why', 'list', 'ls', 'outdated', 'audit', 'link', 'unlink', 'publish', 'pack', 'config', 'store', 'install-test', 'version', 'info', 'cache', 'workspace', 'workspaces', 'dedupe', 'import', 'prune', 'rebuild', 'setup', 'env', 'help']);
            if (builtins.has(script) && !scripts?.[script]) return out.length ? out : [{ kind: 'none', steps }];
            if (name === 'bun' && /\.(ts|js|mjs|cjs|tsx)$/.test(script)) {
              next(['node', ...args], 'bun');
              continue;
            }
            next(args, `${name} ${script}`);
            continue;
          }
        } else if (name === 'npm' && ['test', 't', 'start', 'stop', 'restart'].includes(sub ?? '')) {
          script = sub === 't' ? 'test' : sub;
          rest = args.slice(1).filter((a) => a !== '--');
        } else return out.length ? out : [{ kind: 'none', steps }];
        if (!script) return out.length ? out : [{ kind: 'none', steps }];
        if (!scripts) return [...out, { kind: 'opaque', why: `\`${name} run ${script}\` but no package.json in ${sc.cwd}`, steps, scope: sc, env, dbHint: /db|migrat|reset|seed|drop|supabase|prisma/i.test(script) }];
        const body = scripts[script];
        if (body === undefined) return out.length ? out : [{ kind: 'none', steps }];
        const pre = scripts['pre' + script];
        const post = scripts['post' + script];
        const text = [pre, body + (rest.length ? ' ' + rest.map(shellQuote).join(' ') : ''), post].filter(Boolean).join('\n');
        steps[steps.length - 1].via = `${name} script "${script}"`;
        return [...out, { kind: 'script', text, env: { ...env, npm_lifecycle_event: script }, steps, scope: sc, label: `package.json script "${script}"` }];
      }
      case 'make':
      case 'gmake': {
        let i = 0;
        let makefile: string | undefined;
        let dir = sc.cwd;
        const targets: string[] = [];
        for (; i < args.length; i++) {
          const a = args[i];
          if (a === '-f' || a === '--file' || a === '--makefile') makefile = args[++i];
          else if (a === '-C' || a === '--directory') dir = resolvePath(dir, args[++i]);
          else if (/^-[jlIoW]$/.test(a)) i++;
          else if (a.startsWith('-')) continue;
          else if (a.includes('=')) env[a.slice(0, a.indexOf('='))] = a.slice(a.indexOf('=') + 1);
          else targets.push(a);
        }
        const s2 = { ...sc, cwd: dir };
        const lines: string[] = [];
        for (const t of targets.length ? targets : [null]) {
          const r = deps.makeRecipe(s2, t, makefile);
          if (r === null) return [...out, { kind: 'opaque', why: `make target ${t ?? '(default)'} not found in ${makefile ?? 'Makefile'}`, steps, scope: s2, env, dbHint: /db|migrat|reset|seed|drop/i.test(t ?? '') }];
          lines.push(...r);
        }
        steps[steps.length - 1].via = `make ${targets.join(' ')}`.trim();
        return [...out, { kind: 'script', text: lines.join('\n'), env, steps, scope: s2, label: `make ${targets.join(' ') || '(default target)'}` }];
      }
      case 'eval':
        if (args.some((a) => a === OPAQUE_ARG)) return [...out, { kind: 'opaque', why: `eval of ${opaque[0] ?? 'an expansion'}`, steps, scope: sc, env, dbHint: true }];
        return [...out, { kind: 'script', text: args.join(' '), env, steps, scope: sc, label: 'eval' }];
      case 'alias': {
        // An alias makes a new name for any command, and the guard cannot follow it to where it is
        // used (bash may expand it on a later line); a definition with a value is not analysable.
        const defs = args.filter((a) => a.includes('='));
        if (defs.length === 0) return out;
        return [...out, { kind: 'opaque', why: `alias ${defs.map((d) => d.slice(0, d.indexOf('='))).join(', ')} renames a command the guard cannot follow`, steps, scope: sc, env, dbHint: true }];
      }
      case 'source':
      case '.': {
        const f = args[0];
        if (!f || f === OPAQUE_ARG) return [...out, { kind: 'opaque', why: 'source of a file the guard cannot name', steps, scope: sc, env, dbHint: true }];
        const text = files.get(f) ?? deps.readFile(f, sc);
        if (text === null || text.includes(UNKNOWN_CONTENT)) return [...out, { kind: 'opaque', why: `${f} cannot be read`, steps, scope: sc, env, dbHint: true }];
        return [...out, { kind: 'script', text, env, steps, scope: sc, label: `source ${f}` }];
      }
      case 'docker':
      case 'podman':
      case 'kubectl':
      case 'oc': {
        const isCompose = args[0] === 'compose';
        const a2 = isCompose ? args.slice(1) : args;
        const sub = a2[0];
        if (name === 'docker' || name === 'podman') {
          if (sub !== 'exec' && sub !== 'run') {
            if (sub === 'volume' && (a2[1] === 'rm' || a2[1] === 'prune')) {
              return [...out, { kind: 'tool', tool: 'docker-volume-rm', args: a2.slice(2), opaque, env, stdin, steps, scope: sc }];
            }
            return out.length ? out : [{ kind: 'none', steps }];
          }
          let i = 1;
          const valued = /^(-e|--env|-u|--user|-w|--workdir|--env-file|--name|-v|--volume|--network|--entrypoint|-p|--publish|--platform|--mount|-l|--label|--detach-keys|--rm-after)$/;
          while (i < a2.length && a2[i].startsWith('-')) {
            if (valued.test(a2[i])) {
              if (a2[i] === '-e' || a2[i] === '--env') {
                const kv = a2[i + 1] ?? '';
                if (kv.includes('=')) env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
              }
              i++;
            }
            i++;
          }
          const container = a2[i] ?? '';
          const inner = a2.slice(i + 1);
          if (sub === 'run' && inner.length === 0) return out.length ? out : [{ kind: 'none', steps }];
          const local = /^supabase_db_|^supabase-db/.test(container);
          sc = { ...sc, remote: local ? undefined : `container ${container}`, env: {} };
          for (const k of Object.keys(env)) if (!(k in scope.env) || env[k] !== scope.env[k]) sc.env[k] = env[k];
          next(inner, `${name} ${isCompose ? 'compose ' : ''}${sub} ${container}`);
          continue;
        }
        // kubectl exec pod [-c x] -- cmd
        if (sub !== 'exec') return out.length ? out : [{ kind: 'none', steps }];
        const dd = a2.indexOf('--');
        if (dd < 0) return out.length ? out : [{ kind: 'none', steps }];
        sc = { ...sc, remote: `pod ${a2[1] ?? ''}`, env: {} };
        next(a2.slice(dd + 1), `${name} exec`);
        continue;
      }
      case 'ssh': {
        let i = 0;
        while (i < args.length && args[i].startsWith('-')) {
          if (/^-[bcDEeFIiJLlmOopQRSWw]$/.test(args[i])) i++;
          i++;
        }
        const host = args[i];
        const remoteCmd = args.slice(i + 1).join(' ');
        if (!host || !remoteCmd) return out.length ? out : [{ kind: 'none', steps }];
        steps[steps.length - 1].via = `ssh ${host}`;
        return [...out, { kind: 'script', text: remoteCmd, env: {}, steps, scope: { ...sc, env: {}, remote: `ssh host ${host}` }, label: `ssh ${host}` }];
      }
      default:
        break;
    }
    if (SHELLS.has(name)) {
      let i = 0;
      let cmdText: string | null = null;
      let readsStdin = false;
      for (; i < args.length; i++) {
        const a = args[i];
        if (a === '-c' || (/^-[a-zA-Z]*c[a-zA-Z]*$/.test(a) && !a.startsWith('--'))) {
          cmdText = args[i + 1] ?? '';
          break;
        }
        if (a === '-s' || a === '-') {
          readsStdin = true;
          break;
        }
        if (a === '-o' || a === '+o' || a === '-O' || a === '+O' || a === '--rcfile' || a === '--init-file') {
          i++;
          continue;
        }
        if (a.startsWith('-') || a.startsWith('+')) continue;
        break;
      }
      if (cmdText !== null) {
        if (cmdText.includes(OPAQUE_ARG)) return [...out, { kind: 'opaque', why: `${name} -c with ${opaque[0] ?? 'an expansion'}`, steps, scope: sc, env, dbHint: true }];
        steps[steps.length - 1].via = `${name} -c`;
        return [...out, { kind: 'script', text: cmdText, env, steps, scope: sc, label: `${name} -c` }];
      }
      const file = readsStdin ? undefined : args[i];
      if (file === undefined) {
        if (!stdin) return out.length ? out : [{ kind: 'none', steps }];
        if (stdin.text === null) return [...out, { kind: 'opaque', why: `${name} runs a script read from ${stdin.from}`, steps, scope: sc, env, dbHint: true }];
        steps[steps.length - 1].via = `${name} < stdin`;
        return [...out, { kind: 'script', text: stdin.text, env, steps, scope: sc, label: `${name} reading ${stdin.from}` }];
      }
      return [...out, scriptFile(file, name, files, deps, sc, env, steps, opaque)];
    }
    if (INTERPRETERS.has(name) || name === 'manage.py' || w0.endsWith('manage.py')) {
      // python manage.py … → the django rule
      const scriptIdx = args.findIndex((a) => !a.startsWith('-'));
      const codeFlag = args.findIndex((a) => a === '-c' || a === '-e' || a === '--eval' || a === '-p' || a === '--print' || a === 'eval' || a === '-r' && name === 'php');
      if (name === 'manage.py' || w0.endsWith('manage.py')) return [...out, { kind: 'tool', tool: 'manage.py', args, opaque, env, stdin, steps, scope: sc }];
      if (codeFlag >= 0 && (scriptIdx < 0 || codeFlag < scriptIdx || args[scriptIdx - 1] === args[codeFlag])) {
        const code = args[codeFlag + 1] ?? '';
        if (code.includes(OPAQUE_ARG)) return [...out, { kind: 'opaque', why: `${name} code from ${opaque[0] ?? 'an expansion'}`, steps, scope: sc, env, dbHint: true }];
        if (DB_HINT.test(code) || DANGER_HINT.test(code)) return [...out, { kind: 'opaque', why: `${name} ${args[codeFlag]} runs code that talks to a database or runs commands`, steps, scope: sc, env, dbHint: true }];
        return out.length ? out : [{ kind: 'none', steps }];
      }
      if (name === 'python3' && args[0] === '-m') {
        if (args[1] === 'django') return [...out, { kind: 'tool', tool: 'django-admin', args: args.slice(2), opaque, env, stdin, steps, scope: sc }];
        return out.length ? out : [{ kind: 'none', steps }];
      }
      const script = scriptIdx >= 0 ? args[scriptIdx] : undefined;
      if (script && /manage\.py$/.test(script)) return [...out, { kind: 'tool', tool: 'manage.py', args: args.slice(scriptIdx + 1), opaque, env, stdin, steps, scope: sc }];
      if (!script) {
        if (stdin && (stdin.text === null || DANGER_HINT.test(stdin.text))) return [...out, { kind: 'opaque', why: `${name} runs a program read from ${stdin.from}`, steps, scope: sc, env, dbHint: true }];
        return out.length ? out : [{ kind: 'none', steps }];
      }
      const text = files.get(script) ?? deps.readFile(script, sc);
      if (text !== null && (text.includes(UNKNOWN_CONTENT) || DANGER_HINT.test(text))) return [...out, { kind: 'opaque', why: `${script} contains database-destroying operations (${DANGER_HINT.exec(text)?.[0] ?? 'unknown content'}) the guard cannot follow`, steps, scope: sc, env, dbHint: true }];
      return out.length ? out : [{ kind: 'none', steps }];
    }
    const alias = PKG_TOOL_ALIASES[name] ?? name;
    // ./script.sh, bin/reset: a file on disk or written earlier on this line.
    if ((w0.includes('/') || files.has(w0)) && !['rails', 'rake', 'manage.py'].includes(alias)) {
      const text = files.get(w0) ?? deps.readFile(w0, sc);
      if (text !== null || files.has(w0)) return [...out, scriptFile(w0, 'exec', files, deps, sc, env, steps, opaque)];
    }
    return [...out, { kind: 'tool', tool: alias, args, opaque, env, stdin, steps, scope: sc }];
  }
  return [...out, { kind: 'opaque', why: 'too many nested wrappers', steps, scope: sc, env, dbHint: true }];
}

function scriptFile(file: string, how: string, files: Map<string, string>, deps: UnwrapDeps, sc: GuardScope, env: Env, steps: Step[], opaque: string[]): Unwrapped {
  if (file === OPAQUE_ARG) return { kind: 'opaque', why: `${how} runs a script named by ${opaque[0] ?? 'an expansion'}`, steps, scope: sc, env, dbHint: true };
  const text = files.get(file) ?? deps.readFile(file, sc);
  if (text === null) return { kind: 'opaque', why: `${how} runs ${file}, which does not exist yet or cannot be read`, steps, scope: sc, env, dbHint: /db|migrat|reset|drop|seed|restore|psql|supabase/i.test(file) };
  if (text.includes(UNKNOWN_CONTENT)) return { kind: 'opaque', why: `${file} is written on this command line with content the guard cannot see`, steps, scope: sc, env, dbHint: true };
  const shebang = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(text);
  const interp = shebang ? toolName(shebang[1] === '/usr/bin/env' || shebang[1].endsWith('/env') ? shebang[2] ?? '' : shebang[1]) : 'sh';
  if (shebang && !SHELLS.has(interp)) {
    if (DANGER_HINT.test(text)) return { kind: 'opaque', why: `${file} (${interp}) contains ${DANGER_HINT.exec(text)?.[0]}, which the guard cannot follow`, steps, scope: sc, env, dbHint: true };
    return { kind: 'none', steps };
  }
  steps[steps.length - 1].via = `script ${file}`;
  return { kind: 'script', text, env, steps, scope: sc, label: `script ${file}` };
}

function resolvePath(base: string, p: string | undefined): string {
  if (!p) return base;
  return p.startsWith('/') ? p : `${base}/${p}`;
}

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
