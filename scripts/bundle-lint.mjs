#!/usr/bin/env node
/**
 * Part of `npm run build`, after tsc: bundles the lean `prodguard lint` path (dist/sql/lint-cli.js
 * and the src/sql modules it loads) into one file, dist/sql/lint-cli.bundle.js, which
 * src/cli/main.ts loads when it exists. Node 20 resolves, reads and compiles each ES module of
 * the ~57 apart, a measurable part of a lint run that is mostly start-up (docs/sql.md, speed).
 * Only modules under dist/sql/ go in; everything else stays an import of the modular build, so
 * the error classes main.ts tests with instanceof (dist/errors.js), the project context and
 * libpg-query (loaded with require) each exist once.
 */
import { build } from 'esbuild';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const sqlDir = join(repo, 'dist', 'sql');

await build({
  entryPoints: [join(sqlDir, 'lint-cli.js')],
  outfile: join(sqlDir, 'lint-cli.bundle.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  plugins: [
    {
      name: 'only-dist-sql',
      setup(b) {
        b.onResolve({ filter: /^\.\.?\// }, (args) => {
          const abs = resolve(args.resolveDir, args.path);
          if (abs.startsWith(sqlDir + sep)) return undefined; // bundled
          // Outside dist/sql: imported from the bundle's own place (it sits in dist/sql).
          const path = relative(sqlDir, abs).split(sep).join('/');
          return { path: path.startsWith('.') ? path : `./${path}`, external: true };
        });
      },
    },
  ],
});
