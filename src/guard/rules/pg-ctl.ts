import { parseArgs, optValue } from '../args.js';
import { unknownTarget } from '../target.js';
import type { GuardRule } from './types.js';

export const rule: GuardRule = {
  id: 'pg-ctl',
  tools: ['pg_ctl', 'pg_ctlcluster', 'pg_resetwal', 'pg_resetxlog', 'pg_dropcluster'],
  severity: 'error',
  title: 'pg_ctl stop -m immediate / promote / kill, pg_resetwal, pg_dropcluster',
  explanation: '`pg_ctl stop -m immediate` kills the server without a checkpoint (crash recovery, and with unsafe settings data loss); `promote` splits a standby from its primary; `pg_resetwal` throws WAL away and can corrupt the cluster; `pg_dropcluster` deletes a data directory. The guard cannot tell which environment a data directory serves, so these are refused unless it is clearly a throw-away directory under /tmp.',
  examples: { deny: ['pg_ctl -D /var/lib/postgresql/15/main stop -m immediate', 'pg_resetwal -f /var/lib/postgresql/15/main', 'pg_ctl promote -D /srv/pg'], allow: ['pg_ctl -D /tmp/pgtest start', 'pg_ctl -D ./pgdata stop -m fast', 'pg_ctl status'] },
  check(inv) {
    const p = parseArgs(inv.args, { short: 'DlmoptNsSUePw', long: ['pgdata', 'log', 'mode', 'options', 'timeout', 'signal'] });
    const dir = optValue(p, 'D', 'pgdata') ?? inv.env.PGDATA ?? '(PGDATA)';
    let effect: string | null = null;
    if (inv.tool === 'pg_resetwal' || inv.tool === 'pg_resetxlog') effect = 'throws away write-ahead log (risking corruption) of the cluster in';
    else if (inv.tool === 'pg_dropcluster') effect = 'deletes the cluster and its data directory:';
    else {
      const action = p.positionals.find((x) => ['stop', 'restart', 'promote', 'kill'].includes(x));
      const mode = optValue(p, 'm', 'mode') ?? '';
      if (action === 'promote') effect = 'promotes a standby to primary (splitting replication) for';
      else if (action === 'kill') effect = 'sends a signal to the server process of';
      else if ((action === 'stop' || action === 'restart') && /^i(mmediate)?$/.test(mode)) effect = 'kills the server without a checkpoint (-m immediate):';
      if (inv.tool === 'pg_ctlcluster' && p.positionals.includes('stop') && /^i/.test(mode)) effect = 'kills the server without a checkpoint:';
    }
    if (!effect) return null;
    if (dir.startsWith('/tmp/')) return null;
    return { risk: 'destructive', effect, target: unknownTarget(`data directory ${dir} on this machine`), alternative: 'Stop with `-m fast`; run recovery tools only on a copy of the data directory.' };
  },
};
