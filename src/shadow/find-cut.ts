/**
 * Where a shadow restore to production moment T must stop: the shadow's archived WAL (and the
 * receiver's spool) is read with pg_waldump from a base backup on, and cut between the last
 * applied production transaction committed before T and the first one committed at or after T.
 * The recovery target is the LSN of the former's COMMIT record (inclusive), or — when no
 * production transaction was applied between the base backup and T — "before the latter's xid".
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from '../context.js';
import { RefusedError } from '../errors.js';
import { openPitrStore, pitrStoreDir } from '../restore/pitr/store.js';
import { snapshotPartial, withPartial } from '../restore/pitr/partial.js';
import { loadIndex, newestSegNo, type RecoveryTarget } from '../restore/pitr/plan.js';
import { decryptionIdentity } from '../restore/pitr/crypto.js';
import { parseLsn, parseSegmentName, parseTimestampMicros, segmentName, timelineForSegment } from '../restore/pitr/wal.js';
import { cutAt, readOriginCommits, type Cut, type OriginCommit } from './origin-commits.js';

export interface ShadowCut extends Cut {
  target: RecoveryTarget;
  baseBackup: string;
  /** Newest production commit the archive holds (for messages). */
  newest: OriginCommit | null;
  segmentsScanned: number;
}

/** Segments whose newest local commit is this much older than T are skipped (the shadow applies within seconds). */
const SCAN_MARGIN_US = 15n * 60n * 1_000_000n;

/**
 * `toEnd`: when the archive has no production commit at or after T, cut after the newest one instead
 * of refusing (drills: "everything the shadow holds right now").
 */
export async function findCut(ctx: Context, shadowEnv: string, micros: bigint, originId: number | null, env: Record<string, string | undefined>, toEnd = false): Promise<ShadowCut> {
  const store = await openPitrStore(ctx.loaded, shadowEnv, null);
  const partial = await snapshotPartial(pitrStoreDir(ctx.loaded, shadowEnv));
  const dir = mkdtempSync(join(tmpdir(), 'prodguard-shadow-scan-'));
  try {
    const ix = withPartial(loadIndex(store), partial);
    const bases = ix.bases.filter((b) => (parseTimestampMicros(b.finishedAt) ?? 0n) <= micros);
    if (bases.length === 0) {
      throw new RefusedError(ix.bases.length ? `${new Date(Number(micros / 1000n)).toISOString()} is before the shadow's recoverable window, which starts at ${ix.bases[0].finishedAt} (its first base backup)` : `the shadow (${shadowEnv}) has no base backup yet; run prodguard pitr base-backup --env ${shadowEnv}`, 'shadow.before-window');
    }
    const base = bases[bases.length - 1];
    const start = parseSegmentName(base.startSegment, ix.segSize).segNo;
    const newest = newestSegNo(ix) ?? start;
    const nameAt = (s: bigint) => segmentName(timelineForSegment(s, ix.timeline, ix.history, ix.segSize), s, ix.segSize);
    // From the base on, skipping segments whose last commit is long before T, up to the first gap.
    let from = start;
    for (let s = start; s <= newest; s++) {
      const m = ix.segments.get(nameAt(s));
      const last = m?.lastCommit ? parseTimestampMicros(m.lastCommit.time) : null;
      if (last !== null && last !== undefined && last < micros - SCAN_MARGIN_US) from = s + 1n;
      else break;
    }
    if (from > start) from -= 1n;
    const identity = [...ix.segments.values()].some((m) => m.encrypted) ? decryptionIdentity(ctx.loaded, env) : null;
    let last = from - 1n;
    for (let s = from; s <= newest; s++) {
      const name = nameAt(s);
      if (!ix.segments.has(name)) break;
      const local = partial?.copyFor(name, !!store.segmentMeta(name)) ?? null;
      if (local) copyFileSync(local, join(dir, name));
      else await store.fetchWal(name, join(dir, name), identity);
      last = s;
    }
    if (last < from) throw new RefusedError(`the shadow's WAL archive has no segment after base backup ${base.id}`, 'shadow.no-wal');
    const commits = await readOriginCommits(dir, nameAt(from), nameAt(last), originId);
    const cut = cutAt(commits, micros);
    const newestCommit = commits[commits.length - 1] ?? null;
    let target: RecoveryTarget;
    if (cut.lastBefore && parseLsn(cut.lastBefore.lsn) >= parseLsn(base.stopLsn)) {
      target = { kind: 'lsn', value: cut.lastBefore.lsn, lsn: parseLsn(cut.lastBefore.lsn) };
    } else if (cut.firstAfter) {
      target = { kind: 'xid', value: cut.firstAfter.xid };
    } else if (toEnd) {
      target = { kind: 'latest' };
    } else {
      throw new RefusedError('the shadow has no production transaction after its base backup yet; nothing to cut', 'shadow.nothing-applied');
    }
    if (!cut.firstAfter && !toEnd) {
      // Production may have committed before T what the shadow has not received yet: not exact, refuse.
      throw new RefusedError(
        `the shadow's archive holds production commits up to ${newestCommit?.originTime ?? 'none'}, nothing at or after the target yet; if the shadow is behind (prodguard shadow status shows its lag), wait and retry`,
        'shadow.after-window',
      );
    }
    return { ...cut, target, baseBackup: base.id, newest: newestCommit, segmentsScanned: Number(last - from + 1n) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    partial?.cleanup();
    await store.close();
  }
}

/** The newest production commit in the shadow's archive (or the receiver's spool): the recoverable end. */
export async function newestOriginCommit(ctx: Context, shadowEnv: string, originId: number | null, env: Record<string, string | undefined>): Promise<OriginCommit | null> {
  const store = await openPitrStore(ctx.loaded, shadowEnv, null);
  const partial = await snapshotPartial(pitrStoreDir(ctx.loaded, shadowEnv));
  const dir = mkdtempSync(join(tmpdir(), 'prodguard-shadow-newest-'));
  try {
    const ix = withPartial(loadIndex(store), partial);
    const newest = newestSegNo(ix);
    if (newest === null) return null;
    const nameAt = (s: bigint) => segmentName(timelineForSegment(s, ix.timeline, ix.history, ix.segSize), s, ix.segSize);
    const identity = [...ix.segments.values()].some((m) => m.encrypted) ? decryptionIdentity(ctx.loaded, env) : null;
    // Walk back a few segments at most: a quiet production leaves the newest segments without commits.
    for (let s = newest; s >= 0n && s > newest - 4n; s--) {
      const name = nameAt(s);
      if (!ix.segments.has(name)) return null;
      const local = partial?.copyFor(name, !!store.segmentMeta(name)) ?? null;
      if (local) copyFileSync(local, join(dir, name));
      else await store.fetchWal(name, join(dir, name), identity);
      const commits = await readOriginCommits(dir, name, name, originId);
      if (commits.length) return commits[commits.length - 1];
    }
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    partial?.cleanup();
    await store.close();
  }
}
