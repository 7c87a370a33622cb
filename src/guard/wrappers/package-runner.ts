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
  ],
  unwrap: runScript,
};

function runScript(c: WrapCtx): WrapResult {
  const { args, name } = c;
  const sub = args[0];
  if ((name === 'pnpm' || name === 'yarn') && (sub === 'dlx' || sub === 'exec')) {
    return next(args.slice(skipOptions(args, /^(-p|--package)$/, 1)), `${name} ${sub}`);
  }
  if ((name === 'npm' && sub === 'exec') || (name === 'bun' && sub === 'x')) {
    let i = skipOptions(args, /^(-p|--package)$/, 1, true);
    if (args[i] === '--') i++;
    return next(args.slice(i), `${name} ${sub}`);
  }
  const scripts = c.deps.scripts(c.scope);
  let scriptName: string | undefined;
  let rest: string[] = [];
  if (sub === 'run' || sub === 'run-script' || sub === 'rum' || sub === 'urn') {
    const pos = args.slice(1).filter((a) => !a.startsWith('-') || a === '--');
    scriptName = pos[0];
    rest = pos.slice(1).filter((a) => a !== '--');
  } else if (name !== 'npm' && sub && !sub.startsWith('-')) {
    scriptName = sub;
    rest = args.slice(1).filter((a) => a !== '--');
    if (!scripts?.[scriptName] && (name === 'yarn' || name === 'pnpm' || name === 'bun')) {
      // `yarn prisma migrate reset` runs the package binary.
      if (BUILTINS.has(scriptName)) return none(c);
      if (name === 'bun' && /\.(ts|js|mjs|cjs|tsx)$/.test(scriptName)) return next(['node', ...args], 'bun');
      return next(args, `${name} ${scriptName}`);
    }
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
    return next(c.args.slice(1), `${c.name} ${verb}`);
  },
};
