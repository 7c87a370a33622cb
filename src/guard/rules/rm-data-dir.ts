import { existsSync } from 'node:fs';
import { isAbsolute, resolve, normalize } from 'node:path';
import { unknownTarget } from '../target.js';
import { flag } from './common.js';
import type { GuardRule } from './types.js';

const KNOWN = ['/var/lib/postgresql', '/var/lib/pgsql', '/usr/local/var/postgres', '/usr/local/pgsql/data', '/opt/homebrew/var/postgres', '/var/lib/postgres', '/srv/postgresql', '/var/lib/docker/volumes'];

function isDataPath(p: string, cwd: string, pgdata?: string): boolean {
  const abs = normalize(isAbsolute(p) ? p : resolve(cwd, p)).replace(/\/\*?$/, '').replace(/\/\*$/, '') || '/';
  const dirs = [...KNOWN, ...(pgdata ? [normalize(isAbsolute(pgdata) ? pgdata : resolve(cwd, pgdata))] : [])];
  // The path is a data directory, inside one, or contains one (rm -rf /var).
  if (dirs.some((d) => abs === d || abs.startsWith(d + '/') || d.startsWith(abs === '/' ? '/' : abs + '/'))) return true;
  const base = abs.replace(/\/[^/]*[*?][^/]*$/, '');
  if (existsSync(resolve(base, 'PG_VERSION')) || existsSync(resolve(abs, 'PG_VERSION'))) return true;
  if (/(^|\/)(pg_?data|pg_wal|pg_xlog|postgres(ql)?-data)(\/|$)/i.test(abs)) return true;
  return false;
}

export const rule: GuardRule = {
  id: 'rm-data-dir',
  tools: ['rm', 'shred', 'find', 'mv', 'truncate'],
  severity: 'error',
  title: 'rm -rf of a PostgreSQL data directory',
  explanation: 'Deleting a data directory (one holding PG_VERSION, /var/lib/postgresql, $PGDATA, pg_wal) destroys the cluster; this is how GitLab lost six hours of production data in 2017. The guard cannot tell which environment a data directory serves, so it refuses. Remove scratch clusters under /tmp freely.',
  examples: { deny: ['rm -rf /var/lib/postgresql/15/main', 'sudo rm -r -f "$PGDATA"', 'rm -rf /var'], allow: ['rm -rf node_modules', 'rm -rf dist build', 'rm -rf /tmp/pgtest'] },
  check(inv) {
    const args = inv.args;
    if (inv.tool === 'truncate') {
      const hit = args.filter((a, i) => !a.startsWith('-') && !/^-(s|r|o)$/.test(args[i - 1] ?? '') && !/^--(size|reference)$/.test(args[i - 1] ?? '')).find((s) => isDataPath(s, inv.scope.cwd, inv.env.PGDATA));
      return hit ? { risk: 'destructive', effect: `truncates ${hit}, a file of a PostgreSQL data directory, on`, target: unknownTarget(`data directory file ${hit}`), alternative: 'Never edit data files; restore from a backup instead.' } : null;
    }
    if (inv.tool === 'mv') {
      // Moving a data directory away is deleting it for the cluster that uses it.
      const srcs = args.filter((a) => !a.startsWith('-')).slice(0, -1);
      const hit = srcs.find((s) => isDataPath(s, inv.scope.cwd, inv.env.PGDATA));
      return hit ? { risk: 'destructive', effect: `moves the PostgreSQL data directory ${hit} away from the cluster that uses it on`, target: unknownTarget(`data directory ${hit} (which environment it serves is unknown)`), alternative: 'Stop the cluster and take a backup first; do it yourself, not through an agent.' } : null;
    }
    if (inv.tool === 'find') {
      if (!args.includes('-delete') && !args.includes('-exec')) return null;
      const roots = args.slice(0, Math.max(0, args.findIndex((a) => a.startsWith('-')))) ;
      const hit = roots.find((r) => isDataPath(r, inv.scope.cwd, inv.env.PGDATA));
      return hit ? { risk: 'destructive', effect: `deletes files under ${hit} (a PostgreSQL data directory):`, target: unknownTarget(`data directory ${hit} on this machine`), alternative: 'Stop the cluster and remove it with the distribution tool (pg_dropcluster) after a verified backup.' } : null;
    }
    if (inv.tool === 'rm' && !flag(args, 'rR', ['recursive'])) return null;
    const paths = args.filter((a, i) => !a.startsWith('-') || args.slice(0, i).includes('--'));
    for (const p of paths) {
      if (p.includes('\u0000')) return { risk: 'opaque', effect: `deletes a path the guard cannot resolve (${inv.opaque[0] ?? p}) on`, target: unknownTarget('this machine'), alternative: 'Spell the path out.' };
      if (p.startsWith('/tmp/')) continue;
      if (isDataPath(p, inv.scope.cwd, inv.env.PGDATA)) return { risk: 'destructive', effect: `deletes ${p}, which holds a PostgreSQL data directory:`, target: unknownTarget(`data directory ${p} on this machine`), alternative: 'Stop the cluster and remove it with pg_dropcluster only after a verified backup (`prodguard backup create`).' };
    }
    return null;
  },
};
