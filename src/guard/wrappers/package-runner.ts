/**
 * Package runners: npx/bunx/pnpx and `pnpm dlx`/`yarn exec`/`npm exec` run a package binary;
 * `npm run`/`pnpm`/`yarn`/`bun run` run a package.json script (with its pre/post scripts);
 * `bundle exec`, `poetry run`, `uv run` run a command.
 */
import { shellQuote } from './words.js';
import { next, none, opaque, script, skipOptions, via, type WrapCtx, type WrapResult, type Wrapper } from './types.js';

const BUILTINS = new Set(['install', 'add', 'remove', 'i', 'up', 'upgrade', 'init', 'create', 'test', 'build', 'why', 'list', 'ls', 'outdated', 'audit', 'link', 'unlink', 'publish', 'pack', 'config', 'store', 'install-test', 'version', 'info', 'cache', 'workspace', 'workspaces', 'dedupe', 'import', 'prune', 'rebuild', 'setup', 'env', 'help']);

export const npx: Wrapper = {
  family: 'npx',
  names: ['npx', 'bunx', 'pnpx'],
  examples: [
    { command: 'npx -y prisma migrate reset --force', yields: 'tool prisma migrate reset --force' },
    { command: 'npx -p supabase supabase db push', yields: 'tool supabase db push' },
    { command: 'npx -c "dropdb app"', yields: 'script npx -c' },
  ],
  unwrap(c) {
    const { args } = c;
    let i = 0;
    while (i < args.length && args[i].startsWith('-')) {
      if (/^-(p|c)$/.test(args[i]) || /^--(package|call)$/.test(args[i])) {
        if (args[i] === '-c' || args[i] === '--call') return script(c, args[i + 1] ?? '', 'npx -c');
        i++;
      }
      i++;
      if (args[i - 1] === '--') break;
    }
    return next(args.slice(i), c.name);
  },
};

export const packageScripts: Wrapper = {
  family: 'package-runner',
  names: ['pnpm', 'yarn', 'npm', 'bun'],
  examples: [
    { command: 'npm run db:reset', yields: 'script package.json script "db:reset"' },
    { command: 'yarn prisma migrate reset', yields: 'tool prisma migrate reset' },
    { command: 'pnpm dlx supabase db push', yields: 'tool supabase db push' },
    { command: 'npm exec -- drizzle-kit push', yields: 'tool drizzle-kit push' },
    { command: 'npm install', yields: 'none' },
    { command: 'npm --silent run db:reset', yields: 'script package.json script "db:reset"' },
    { command: 'npm x supabase db push', yields: 'tool supabase db push' },
    { command: 'pnpm -r run db:reset', yields: 'opaque' },
  ],
  unwrap: runScript,
};

/** Options a package manager takes before its command; the ones that change the project or pick workspaces. */
const PM_VALUED = /^(--prefix|-C|--dir|--cwd|--filter|-F|-w|--workspace|--loglevel|--registry|--userconfig|--cache|--reporter|--color)$/;
const PM_WORKSPACES = /^(-r|--recursive|--filter|-F|-w|--workspace|--workspaces|-ws|--include-workspace-root)$/;

function runScript(c: WrapCtx): WrapResult {
  let { args } = c;
  const { name } = c;
  // bun is also an interpreter: `bun -e code`, `bun file.ts`.
  if (name === 'bun' && /^(-e|--eval|-p|--print)$/.test(args[0] ?? '')) return next(['node', ...args], 'bun');
  // Global options before the command (`npm --silent run x`, `pnpm -C dir -r run x`, `yarn --cwd dir x`).
  let workspaces = false;
  while (args.length && args[0].startsWith('-') && args[0] !== '--') {
    const opt = args[0].split('=')[0];
    if (PM_WORKSPACES.test(opt)) workspaces = true;
    const value = args[0].includes('=') ? args[0].slice(args[0].indexOf('=') + 1) : PM_VALUED.test(opt) ? args[1] : undefined;
    if (value !== undefined && /^(--prefix|-C|--dir|--cwd)$/.test(opt)) c.scope = { ...c.scope, cwd: value.startsWith('/') ? value : `${c.scope.cwd}/${value}` };
    args = args.slice(PM_VALUED.test(opt) && !args[0].includes('=') ? 2 : 1);
  }
  // exec/dlx run a binary: workspaces do not matter.
  if (workspaces && /^(exec|dlx|x)$/.test(args[0] ?? '')) workspaces = false;
  if (workspaces) {
    // The script may live in any workspace package: not followed.
    const script = args[0] === 'run' || args[0] === 'run-script' ? args[1] : args[0];
    return opaque(c, `\`${name}\` runs "${script ?? ''}" in workspace packages the guard does not read`, /db|migrat|reset|seed|drop|supabase|prisma|sql|push|deploy|nuke|wipe/i.test(script ?? ''));
  }
  if (name === 'npm' && args[0] === 'x') args = ['exec', ...args.slice(1)];
  if ((name === 'yarn' || name === 'pnpm') && args[0] === 'workspace') return opaque(c, `\`${name} workspace ${args[1] ?? ''}\` runs in a workspace package the guard does not read`, /db|migrat|reset|seed|drop|supabase|prisma|sql|push|deploy/i.test(args.slice(2).join(' ')));
  const sub = args[0];
  if ((name === 'pnpm' || name === 'yarn') && (sub === 'dlx' || sub === 'exec')) {
    return next(args.slice(skipOptions(args, /^(-p|--package)$/, 1)), `${name} ${sub}`);
  }
  if ((name === 'npm' && sub === 'exec') || (name === 'bun' && sub === 'x')) {
    // npm exec -c "cmd" / --call=cmd runs a shell string.
    const ci = args.findIndex((a) => a === '-c' || a === '--call' || a.startsWith('--call='));
    if (ci >= 0) return script(c, args[ci].startsWith('--call=') ? args[ci].slice(7) : args[ci + 1] ?? '', `${name} exec -c`);
    let i = skipOptions(args, /^(-p|--package)$/, 1, true);
    if (args[i] === '--') i++;
    return next(args.slice(i), `${name} ${sub}`);
  }
  const scripts = c.deps.scripts(c.scope);
  let scriptName: string | undefined;
  let rest: string[] = [];
  if (sub === 'run' || sub === 'run-script' || sub === 'rum' || sub === 'urn') {
    // Everything after `--` is appended to the script (`npm run db:reset -- --linked`).
    const dd = args.indexOf('--');
    const before = dd >= 0 ? args.slice(1, dd) : args.slice(1);
    const shellOpt = before.findIndex((a) => a === '--script-shell' || a.startsWith('--script-shell='));
    if (shellOpt >= 0) {
      const sh = before[shellOpt].includes('=') ? before[shellOpt].split('=')[1] : before[shellOpt + 1];
      return script(c, `${sh} -c ${shellQuote('(npm script)')}`, `${name} --script-shell ${sh}`);
    }
    const pos = before.filter((a, i) => !a.startsWith('-') && !/^--(prefix|workspace|script-shell)$/.test(before[i - 1] ?? ''));
    scriptName = pos[0];
    rest = [...pos.slice(1), ...(dd >= 0 ? args.slice(dd + 1) : [])];
    // `npm run env -- cmd` is npm's built-in env script: it runs env with the appended words.
    if (scriptName === 'env' && !(c.deps.scripts(c.scope) ?? {}).env) return next(['env', ...rest], `${name} run env`);
  } else if (name !== 'npm' && sub && !sub.startsWith('-')) {
    scriptName = sub;
    rest = args.slice(1).filter((a) => a !== '--');
    if (!scripts?.[scriptName] && (name === 'yarn' || name === 'pnpm' || name === 'bun')) {
      // `yarn prisma migrate reset` runs the package binary.
      if (BUILTINS.has(scriptName)) return none(c);
      if (name === 'bun' && /\.(ts|js|mjs|cjs|tsx)$/.test(scriptName)) return next(['node', ...args], 'bun');
      return next(args, `${name} ${scriptName}`);
    }
  } else if (name === 'npm' && sub === 'pkg' && args[1] === 'set') {
    // `npm pkg set scripts.x="…"` writes a script that a later `npm run x` runs: judge it now.
    const defs = args.slice(2).filter((a) => /^scripts\./.test(a) && a.includes('='));
    if (defs.length === 0) return none(c);
    return script(c, defs.map((d) => d.slice(d.indexOf('=') + 1)).join('\n'), 'npm pkg set scripts');
  } else if (name === 'npm' && ['test', 't', 'start', 'stop', 'restart'].includes(sub ?? '')) {
    scriptName = sub === 't' ? 'test' : sub;
    rest = args.slice(1).filter((a) => a !== '--');
  } else return none(c);
  if (!scriptName) return none(c);
  if (!scripts) return opaque(c, `\`${name} run ${scriptName}\` but no package.json in ${c.scope.cwd}`, /db|migrat|reset|seed|drop|supabase|prisma/i.test(scriptName));
  const body = scripts[scriptName];
  if (body === undefined) return none(c);
  const text = [scripts['pre' + scriptName], body + (rest.length ? ' ' + rest.map(shellQuote).join(' ') : ''), scripts['post' + scriptName]].filter(Boolean).join('\n');
  via(c, `${name} script "${scriptName}"`);
  return script(c, text, `package.json script "${scriptName}"`, { env: { ...c.env, npm_lifecycle_event: scriptName } });
}

export const runners: Wrapper = {
  family: 'runner',
  names: ['bundle', 'poetry', 'pipenv', 'uv'],
  examples: [
    { command: 'bundle exec rake db:drop', yields: 'tool rake db:drop' },
    { command: 'uv run python manage.py flush', yields: 'tool manage.py flush' },
    { command: 'bundle install', yields: 'none' },
  ],
  unwrap(c) {
    const verb = c.name === 'bundle' ? 'exec' : 'run';
    if (c.args[0] !== verb) return none(c);
    const rest = c.args.slice(1).filter((a, i, all) => !(a.startsWith('-') && i === 0 && all.length > 1 && /^--(with|python|env-file)$/.test(a)));
    // `uv run script.py` runs it with Python.
    if (rest[0] && /\.py$/.test(rest[0])) return next(['python3', ...rest], `${c.name} ${verb}`);
    return next(rest, `${c.name} ${verb}`);
  },
};
