/**
 * `prodguard shadow status`: is the shadow following production, and how far back can it recover?
 * Read from the databases themselves (the subscription's state and error counters on the shadow,
 * the slot's confirmed position on production) and from the shadow's WAL archive (the newest
 * production commit it holds, in production's own commit time) — not from anything prodguard wrote.
 */
import type { Context } from '../context.js';
import { tryConnectionUrl } from '../config/connection.js';
import { withClient } from '../pg/client.js';
import { maskSecrets } from '../security/mask.js';
import { errorMessage } from '../errors.js';
import { requireShadowState, type ShadowState } from './state.js';
import { largeObjectCount, publishableTables } from './production.js';
import { newestOriginCommit } from './find-cut.js';
import { schemaFingerprints } from './drift.js';
import { pitrStatus } from '../restore/pitr/status.js';

export interface ShadowStatus {
  environment: string;
  shadow: string;
  subscription: {
    name: string;
    exists: boolean;
    enabled: boolean;
    workerRunning: boolean;
    lastMessageAt: string | null;
    applyErrors: number;
    syncErrors: number;
    tablesNotReady: string[];
  } | null;
  production: { reachable: boolean; slotActive: boolean | null; lagBytes: number | null; error?: string };
  /** Production commit time of the newest transaction in the shadow's WAL archive/spool. */
  lastReplicatedCommit: string | null;
  /** Seconds between now and that commit while production has WAL the shadow has not confirmed; 0 when caught up. */
  lagSeconds: number | null;
  window: { earliest: string | null; latest: string | null; baseBackups: number };
  notCovered: Array<{ table: string; reason: string }>;
  largeObjects: number | null;
  drift: { checked: boolean; inSync: boolean; differences: string[] };
  sequencesSyncedAt: string | null;
  problems: string[];
}

const NOT_COVERED_ALWAYS = [
  { table: 'large objects (pg_largeobject)', reason: 'logical replication does not carry large objects' },
  { table: 'storage files (Supabase Storage objects)', reason: 'files live outside the database; storage.objects rows are metadata only' },
];

async function shadowSide(url: string, s: ShadowState): Promise<ShadowStatus['subscription']> {
  return withClient(url, async (c) => {
    const r = await c.query<{ enabled: boolean; pid: number | null; last: string | null; apply: string; sync: string; notready: string[] }>(
      `SELECT s.subenabled AS enabled,
              (SELECT pid FROM pg_stat_subscription st WHERE st.subid = s.oid AND st.relid IS NULL LIMIT 1) AS pid,
              (SELECT to_char(max(last_msg_receipt_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') FROM pg_stat_subscription st WHERE st.subid = s.oid) AS last,
              coalesce((SELECT apply_error_count FROM pg_stat_subscription_stats x WHERE x.subid = s.oid), 0)::text AS apply,
              coalesce((SELECT sync_error_count FROM pg_stat_subscription_stats x WHERE x.subid = s.oid), 0)::text AS sync,
              ARRAY(SELECT sr.srrelid::regclass::text FROM pg_subscription_rel sr WHERE sr.srsubid = s.oid AND sr.srsubstate <> 'r' ORDER BY 1) AS notready
         FROM pg_subscription s WHERE s.subname = $1`,
      [s.subscription],
    );
    const x = r.rows[0];
    if (!x) return { name: s.subscription, exists: false, enabled: false, workerRunning: false, lastMessageAt: null, applyErrors: 0, syncErrors: 0, tablesNotReady: [] };
    return { name: s.subscription, exists: true, enabled: x.enabled, workerRunning: x.pid !== null, lastMessageAt: x.last, applyErrors: Number(x.apply), syncErrors: Number(x.sync), tablesNotReady: x.notready };
  });
}

/** How far behind production the shadow may fall before status says so: the Supabase PITR add-on ships WAL every 2 minutes. */
export const SHADOW_MAX_LAG_SECONDS = 120;

/**
 * The lag as a problem, or null. Production still holds WAL the shadow has not confirmed and the
 * newest commit the shadow archived is older than SHADOW_MAX_LAG_SECONDS: a hung receiver or an
 * apply worker retrying a failing transaction (red team w5d: status green at 65 s, a hung
 * receiver, apply errors counted). An idle production (nothing unconfirmed) is not behind.
 */
export function lagProblem(lagBytes: number | null, lagSeconds: number | null, applyErrors: number): string | null {
  if (!lagBytes || lagSeconds === null || lagSeconds <= SHADOW_MAX_LAG_SECONDS) return null;
  const errors = applyErrors > 0 ? `; the subscription counted ${applyErrors} apply error(s), so a failing transaction is being retried (the shadow's log says which)` : '';
  return `the shadow is ${Math.round(lagSeconds)} s behind production (over ${SHADOW_MAX_LAG_SECONDS} s, ${lagBytes} bytes of WAL unconfirmed): what happened since is not recoverable yet${errors}`;
}

export async function shadowStatus(ctx: Context, envName: string, opts: { env?: Record<string, string | undefined>; drift?: boolean } = {}): Promise<ShadowStatus> {
  const env = opts.env ?? process.env;
  const s = await requireShadowState(ctx, envName);
  const problems: string[] = [];
  const prodUrl = tryConnectionUrl(ctx.loaded, envName, env);
  const shadowUrl = tryConnectionUrl(ctx.loaded, s.shadowEnv, env);

  let subscription: ShadowStatus['subscription'] = null;
  if (!shadowUrl) problems.push(`the shadow's connection (${s.shadowEnv}) is not available here`);
  else {
    try {
      const sub = (subscription = await shadowSide(shadowUrl, s))!;
      if (!sub.exists) problems.push(`subscription ${s.subscription} is missing on the shadow: replication has stopped`);
      else {
        if (!sub.enabled) problems.push(`subscription ${s.subscription} is disabled: replication has stopped`);
        else if (!sub.workerRunning) problems.push(`no apply worker is running for ${s.subscription} (replication broken or restarting; the shadow's log says why)`);
        if (sub.tablesNotReady.length) problems.push(`table(s) still copying or failed: ${sub.tablesNotReady.join(', ')}`);
      }
    } catch (err) {
      problems.push(`the shadow is unreachable: ${maskSecrets(errorMessage(err))}`);
    }
  }

  const production: ShadowStatus['production'] = { reachable: false, slotActive: null, lagBytes: null };
  const notCovered = [...s.notCovered];
  let largeObjects: number | null = null;
  if (prodUrl) {
    try {
      await withClient(prodUrl, async (c) => {
        const r = await c.query<{ active: boolean; lag: string | null; retained: string | null }>(
          `SELECT active, (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint::text AS lag, (pg_current_wal_lsn() - restart_lsn)::bigint::text AS retained FROM pg_replication_slots WHERE slot_name = $1`,
          [s.subscription],
        );
        production.reachable = true;
        production.slotActive = r.rows[0]?.active ?? null;
        production.lagBytes = r.rows[0]?.lag == null ? null : Math.max(0, Number(r.rows[0].lag));
        if (!r.rows[0]) problems.push(`the replication slot ${s.subscription} is missing on production: the shadow receives nothing`);
        // An abandoned logical slot makes production keep all WAL from then on: its disk fills up.
        else if (!r.rows[0].active) problems.push(`nothing is connected to the slot ${s.subscription} on production, which keeps WAL for it (${r.rows[0].retained ?? '?'} bytes so far) until the shadow reconnects; if the shadow is gone, run prodguard shadow disable --env ${envName}`);
        const now = await publishableTables(c, s.schemas);
        for (const t of [...now.tables, ...now.notCovered.map((n) => n.table)]) {
          if (!s.tables.includes(t) && !notCovered.some((n) => n.table === t)) notCovered.push({ table: t, reason: 'created on production after shadow enable: not in the publication (run shadow enable again once the shadow has it)' });
        }
        largeObjects = await largeObjectCount(c);
      });
    } catch (err) {
      production.error = maskSecrets(errorMessage(err));
      problems.push(`production is unreachable: ${production.error}`);
    }
  }
  notCovered.push(...NOT_COVERED_ALWAYS);

  let lastReplicatedCommit: string | null = null;
  try {
    lastReplicatedCommit = (await newestOriginCommit(ctx, s.shadowEnv, s.originId, env))?.originTime ?? null;
  } catch (err) {
    problems.push(`cannot read the shadow's WAL archive: ${maskSecrets(errorMessage(err))}`);
  }

  const pitr = await pitrStatus(ctx.loaded, s.shadowEnv, env).catch(() => null);
  if (!pitr || pitr.baseBackups === 0) problems.push(`the shadow has no base backup: nothing is recoverable yet (prodguard pitr base-backup --env ${s.shadowEnv})`);
  if (pitr?.gaps.length) problems.push(`the shadow's WAL archive has gaps: ${pitr.gaps.join(', ')}`);
  // Replication alone is not recovery: the window grows only while the shadow's WAL reaches its
  // archive (red team ag-166: a dead receiver left status green, "lag 0 s", a frozen window).
  const until = `the recoverable window stopped at ${lastReplicatedCommit ?? 'its last archived commit'} while replication goes on`;
  let archiveStalled = false;
  if (pitr?.server?.reachable && pitr.method === 'streaming' && !pitr.server.streaming?.active) {
    archiveStalled = true;
    problems.push(`the shadow's WAL receiver is not connected (prodguard pitr stream --env ${s.shadowEnv}): ${until}`);
  } else if (pitr?.server?.reachable && pitr.method === 'archive-command' && pitr.server.archiverFailing) {
    archiveStalled = true;
    problems.push(`the shadow's archive_command is failing (last failed: ${pitr.server.lastFailedWal ?? '?'}): ${until}`);
  }
  const lagSeconds = production.lagBytes === 0 && !archiveStalled ? 0 : lastReplicatedCommit ? Math.max(0, (Date.now() - Date.parse(lastReplicatedCommit)) / 1000) : null;
  const behind = lagProblem(production.lagBytes, lagSeconds, subscription?.applyErrors ?? 0);
  if (behind) problems.push(behind);

  const drift: ShadowStatus['drift'] = { checked: false, inSync: true, differences: [] };
  if (opts.drift !== false && prodUrl && shadowUrl && production.reachable && subscription) {
    try {
      const fp = await schemaFingerprints(prodUrl, shadowUrl, s.schemas);
      drift.checked = true;
      drift.inSync = fp.production === fp.shadow;
      drift.differences = fp.differences;
      if (!drift.inSync) problems.push(`schema drift between production and the shadow: ${fp.differences.slice(0, 3).join('; ')}${fp.differences.length > 3 ? ` (+${fp.differences.length - 3} more)` : ''}`);
    } catch (err) {
      problems.push(`drift check failed: ${maskSecrets(errorMessage(err))}`);
    }
  }
  return {
    environment: envName,
    shadow: s.shadowEnv,
    subscription,
    production,
    lastReplicatedCommit,
    lagSeconds,
    window: { earliest: pitr?.earliest ?? null, latest: lastReplicatedCommit, baseBackups: pitr?.baseBackups ?? 0 },
    notCovered,
    largeObjects,
    drift,
    sequencesSyncedAt: s.sequencesSyncedAt,
    problems,
  };
}
