/**
 * `prodguard pitr status`: the recoverable window (earliest = the oldest base backup's end, latest =
 * the newest archived commit reachable without a gap), archiving lag against the live server, and
 * every missing WAL segment by name.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedConfig } from '../../config/load.js';
import { tryConnectionUrl } from '../../config/connection.js';
import { withClient } from '../../pg/client.js';
import { openPitrStore, pitrStoreDir } from './store.js';
import { snapshotPartial, withPartial } from './partial.js';
import { contiguousFrom, findGaps, loadIndex, newestSegNo } from './plan.js';
import { formatLsn, parseSegmentName, segmentName } from './wal.js';
import { slotName } from './enable.js';

export interface PitrStatus {
  environment: string;
  method: 'archive-command' | 'streaming';
  store: string;
  configured: boolean;
  baseBackups: number;
  segments: number;
  earliest: string | null;
  latest: string | null;
  /** End of the unbroken archive (start of the first byte not archived). */
  archivedUpToLsn: string | null;
  newestSegment: string | null;
  gaps: string[];
  missingHistory: string | null;
  server: null | {
    reachable: boolean;
    currentLsn?: string;
    lagBytes?: number;
    lastArchivedAt?: string | null;
    failedCount?: number;
    lastFailedWal?: string | null;
    /** archive_command failed more recently than it succeeded. */
    archiverFailing?: boolean;
    streaming?: { active: boolean; flushLsn: string | null; lagBytes: number | null } | null;
  };
  /** Bytes received by the streaming receiver that are not yet in a completed, shipped segment. */
  spoolPartial: string | null;
}

export async function pitrStatus(loaded: LoadedConfig, envName: string, env: Record<string, string | undefined> = process.env): Promise<PitrStatus> {
  const storeDir = pitrStoreDir(loaded, envName);
  const store = await openPitrStore(loaded, envName, null);
  // The receiver's segment in progress counts: a restore on this host can use it (see partial.ts).
  const partial = await snapshotPartial(storeDir);
  const ix = withPartial(loadIndex(store), partial);
  partial?.cleanup();
  const oldest = ix.bases[0] ?? null;
  const newestBase = ix.bases[ix.bases.length - 1] ?? null;
  const gaps = oldest ? findGaps(ix, parseSegmentName(oldest.startSegment, ix.segSize).segNo) : [];
  const chain = newestBase ? contiguousFrom(ix, newestBase) : null;
  const newest = newestSegNo(ix);
  const archivedEnd = chain ? (chain.lastSegNo + 1n) * BigInt(ix.segSize) : null;
  const histName = `${ix.timeline.toString(16).toUpperCase().padStart(8, '0')}.history`;
  const status: PitrStatus = {
    environment: envName,
    method: loaded.config.pitr.method,
    store: storeDir,
    configured: existsSync(storeDir),
    baseBackups: ix.bases.length,
    segments: ix.segments.size,
    earliest: oldest?.finishedAt ?? null,
    latest: chain ? (chain.lastCommit?.time ?? newestBase!.finishedAt) : null,
    archivedUpToLsn: archivedEnd !== null ? formatLsn(archivedEnd) : null,
    newestSegment: newest !== null ? segmentName(ix.timeline, newest, ix.segSize) : null,
    gaps,
    missingHistory: ix.timeline > 1 && ix.history.length === 0 ? histName : null,
    server: null,
    spoolPartial: null,
  };
  const spool = join(storeDir, 'spool');
  if (existsSync(spool)) {
    const partial = readdirSync(spool).find((f) => f.endsWith('.partial'));
    if (partial) status.spoolPartial = `${partial} (${statSync(join(spool, partial)).size} bytes)`;
  }
  // Only ask the server when there is an archive to compare with (status must stay quick on hosted projects).
  const url = ix.bases.length > 0 || ix.segments.size > 0 ? tryConnectionUrl(loaded, envName, env) : null;
  if (url) {
    status.server = await withClient(url, async (c) => {
      const r = (await c.query<{ lsn: string; archived: string | null; failed: string; lastfailed: string | null; failing: boolean }>(
        `SELECT pg_current_wal_lsn()::text AS lsn, last_archived_time::text AS archived, failed_count::text AS failed, last_failed_wal AS lastfailed, (last_failed_time IS NOT NULL AND (last_archived_time IS NULL OR last_failed_time > last_archived_time)) AS failing FROM pg_stat_archiver`,
      )).rows[0];
      const cur = BigInt((await c.query<{ n: string }>(`SELECT ($1::pg_lsn - '0/0'::pg_lsn)::text AS n`, [r.lsn])).rows[0].n.split('.')[0]);
      let streaming: NonNullable<PitrStatus['server']>['streaming'] = null;
      const slot = (await c.query<{ active: boolean; flush: string | null }>(
        `SELECT s.active, r.flush_lsn::text AS flush FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid WHERE s.slot_name = $1`, [slotName(envName)],
      )).rows[0];
      if (slot) {
        let lag: number | null = null;
        if (slot.flush) lag = Number((await c.query<{ n: string }>(`SELECT (pg_current_wal_lsn() - $1::pg_lsn)::text AS n`, [slot.flush])).rows[0].n);
        streaming = { active: slot.active, flushLsn: slot.flush, lagBytes: lag };
      }
      return {
        reachable: true,
        currentLsn: r.lsn,
        lagBytes: archivedEnd !== null ? Math.max(0, Number(cur - archivedEnd)) : undefined,
        lastArchivedAt: r.archived,
        failedCount: Number(r.failed),
        lastFailedWal: r.lastfailed,
        archiverFailing: r.failing,
        streaming,
      };
    }).catch(() => ({ reachable: false }));
  }
  return status;
}
