/**
 * Reading the archive as a whole: which timeline to follow, which segments a recovery needs,
 * where the gaps are and what the recoverable window is. Pure functions over the store's
 * index (sidecars and manifests), so status and restore agree and both are testable.
 */
import type { BaseBackupManifest, SegmentMeta } from './store.js';
import {
  DEFAULT_SEGMENT_SIZE, parseHistory as parseHistoryText, parseLsn, parseSegmentName, parseTimestampMicros, segmentName, timelineForSegment, formatLsn,
  type TimelineSwitch,
} from './wal.js';

export interface ArchiveIndex {
  bases: BaseBackupManifest[];
  segments: Map<string, SegmentMeta>;
  /** Parsed history of the newest timeline (empty on timeline 1). */
  history: TimelineSwitch[];
  timeline: number;
  segSize: number;
}

export type RecoveryTarget =
  | { kind: 'time'; value: string; micros: bigint }
  | { kind: 'lsn'; value: string; lsn: bigint }
  | { kind: 'xid'; value: number }
  /** Everything archived: replay to the end of the archive (the newest archived commit). */
  | { kind: 'latest' };

/** The newest segment number archived along the lineage, or null. */
export function newestSegNo(ix: ArchiveIndex): bigint | null {
  let max: bigint | null = null;
  for (const name of ix.segments.keys()) {
    const { tli, segNo } = parseSegmentName(name, ix.segSize);
    if (timelineForSegment(segNo, ix.timeline, ix.history, ix.segSize) !== tli) continue;
    if (max === null || segNo > max) max = segNo;
  }
  return max;
}

function nameAt(ix: ArchiveIndex, segNo: bigint): string {
  return segmentName(timelineForSegment(segNo, ix.timeline, ix.history, ix.segSize), segNo, ix.segSize);
}

/** Segments missing between `fromSegNo` and the newest archived segment, by name. */
export function findGaps(ix: ArchiveIndex, fromSegNo: bigint): string[] {
  const newest = newestSegNo(ix);
  const missing: string[] = [];
  if (newest === null) return missing;
  for (let s = fromSegNo; s <= newest; s++) {
    const name = nameAt(ix, s);
    if (!ix.segments.has(name)) missing.push(name);
  }
  return missing;
}

export interface ChainEnd {
  /** Last segment of the unbroken chain starting at the base backup. */
  lastSegNo: bigint;
  /** First missing segment after it when the archive continues later (a gap), else null. */
  gapAt: string | null;
  lastCommit: SegmentMeta['lastCommit'];
}

/** Follows the archive from a base backup's first segment until the first missing one. */
export function contiguousFrom(ix: ArchiveIndex, base: BaseBackupManifest): ChainEnd {
  const start = parseSegmentName(base.startSegment, ix.segSize).segNo;
  const newest = newestSegNo(ix) ?? start - 1n;
  let last = start - 1n;
  let lastCommit: SegmentMeta['lastCommit'] = null;
  for (let s = start; s <= newest; s++) {
    const meta = ix.segments.get(nameAt(ix, s));
    if (!meta) return { lastSegNo: last, gapAt: nameAt(ix, s), lastCommit };
    if (meta.lastCommit) lastCommit = meta.lastCommit;
    last = s;
  }
  return { lastSegNo: last, gapAt: null, lastCommit };
}

export interface RecoveryPlan {
  base: BaseBackupManifest;
  /** Segment names to fetch, in order. */
  segments: string[];
  /**
   * Replay to the end of the archive with no recovery target: for --latest, and for a time at or
   * after the newest archived commit (PostgreSQL stops a time target only at a LATER commit, which
   * does not exist yet). The restore then checks the last replayed commit is not after the target.
   */
  toEnd?: { lastCommit: string | null };
}

/** A target "just now" is usually ahead of the archive, not lost: say so, and what to do. */
const CATCH_UP = '. If the target is recent, the archive has not caught up yet: WAL reaches it when a segment completes (archive_command) or is shipped by the streaming receiver; `prodguard pitr status` shows the newest archived commit, retry once it is at or after the target';

export class PlanError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

function baseEndMicros(b: BaseBackupManifest): bigint {
  return parseTimestampMicros(b.finishedAt)!;
}

/**
 * Picks the newest base backup that ends before the target and the segments recovery must read;
 * throws a PlanError naming the missing segment when the target lies past a gap.
 */
export function planRecovery(ix: ArchiveIndex, target: RecoveryTarget): RecoveryPlan {
  if (ix.bases.length === 0) throw new PlanError('no base backup in the PITR archive; run `prodguard pitr base-backup` first', 'pitr.no-base');
  let candidates: BaseBackupManifest[];
  let xidSegNo: bigint | null = null;
  if (target.kind === 'latest') candidates = ix.bases;
  else if (target.kind === 'time') candidates = ix.bases.filter((b) => baseEndMicros(b) <= target.micros);
  else if (target.kind === 'lsn') candidates = ix.bases.filter((b) => parseLsn(b.stopLsn) <= target.lsn);
  else {
    for (const [name, m] of ix.segments) {
      if (m.minXid !== null && m.maxXid !== null && m.minXid <= target.value && target.value <= m.maxXid) {
        const s = parseSegmentName(name, ix.segSize).segNo;
        if (xidSegNo === null || s < xidSegNo) xidSegNo = s;
      }
    }
    if (xidSegNo === null) throw new PlanError(`transaction ${target.value} does not appear in the archived WAL (it has not committed yet, or its WAL is not archived)`, 'pitr.target-not-archived');
    const xs = xidSegNo;
    candidates = ix.bases.filter((b) => parseLsn(b.stopLsn) / BigInt(ix.segSize) <= xs);
  }
  if (candidates.length === 0) {
    const earliest = ix.bases[0];
    throw new PlanError(`no base backup ends before the target; the earliest recoverable moment is ${earliest.finishedAt} (LSN ${earliest.stopLsn})`, 'pitr.before-window');
  }
  const base = candidates[candidates.length - 1];
  const start = parseSegmentName(base.startSegment, ix.segSize).segNo;
  const newest = newestSegNo(ix);
  const segments: string[] = [];
  let endSegNo: bigint | null = null;
  if (target.kind === 'lsn') endSegNo = target.lsn / BigInt(ix.segSize);
  if (target.kind === 'xid') endSegNo = xidSegNo;

  for (let s = start; ; s++) {
    const name = nameAt(ix, s);
    const meta = ix.segments.get(name);
    if (newest === null || s > newest) {
      if (endSegNo !== null && s <= endSegNo) {
        throw new PlanError(`the target ${describeTarget(target)} is beyond the newest archived WAL segment (${newest === null ? 'none archived' : nameAt(ix, newest)})${CATCH_UP}`, 'pitr.after-window');
      }
      if (target.kind === 'latest') return { base, segments, toEnd: { lastCommit: contiguousFrom(ix, base).lastCommit?.time ?? null } };
      if (target.kind === 'time') {
        const latest = contiguousFrom(ix, base).lastCommit;
        // Exactly the newest archived commit (or the base backup's own end when nothing committed since): reachable.
        const reachable = latest ? parseTimestampMicros(latest.time) === target.micros : false;
        if (reachable) return { base, segments, toEnd: { lastCommit: latest!.time } };
        throw new PlanError(`the target ${target.value} is after the newest archived commit (${latest ? latest.time : 'none'}); the latest recoverable moment is ${latest ? latest.time : base.finishedAt} (restore to it with --latest or --time '${latest ? latest.time : base.finishedAt}')${CATCH_UP}`, 'pitr.after-window');
      }
      break;
    }
    if (!meta) {
      throw new PlanError(`restoring to ${describeTarget(target)} needs WAL segment ${name}, which is missing from the archive (a gap); refusing to restore past it`, 'pitr.wal-gap');
    }
    segments.push(name);
    if (endSegNo !== null && s >= endSegNo) {
      // Recovery may read the record that follows the target: take the next segment when it is there.
      const next = nameAt(ix, s + 1n);
      if (ix.segments.has(next)) segments.push(next);
      break;
    }
    if (target.kind === 'time' && meta.lastCommit && (parseTimestampMicros(meta.lastCommit.time) ?? 0n) > target.micros) break;
  }
  return { base, segments };
}

export function describeTarget(t: RecoveryTarget): string {
  if (t.kind === 'latest') return 'the latest archived moment';
  return t.kind === 'time' ? `time ${t.value}` : t.kind === 'lsn' ? `LSN ${formatLsn(t.lsn)}` : `before transaction ${t.value}`;
}

export { DEFAULT_SEGMENT_SIZE };

/** Builds the index from a store: manifests, segment sidecars and the newest timeline's history. */
export function loadIndex(store: import('./store.js').PitrStore): ArchiveIndex {
  const bases = store.listBases();
  const { segments: names, histories } = store.listWal();
  const segments = new Map<string, SegmentMeta>();
  for (const n of names) {
    const m = store.segmentMeta(n);
    if (m) segments.set(n, m);
  }
  const segSize = bases[0]?.walSegmentSize ?? DEFAULT_SEGMENT_SIZE;
  let timeline = 1;
  for (const n of names) timeline = Math.max(timeline, parseInt(n.slice(0, 8), 16));
  for (const h of histories) timeline = Math.max(timeline, parseInt(h.slice(0, 8), 16));
  for (const b of bases) timeline = Math.max(timeline, b.timeline);
  let history: TimelineSwitch[] = [];
  if (timeline > 1) {
    const h = store.segmentMeta(`${timeline.toString(16).toUpperCase().padStart(8, '0')}.history`);
    if (h?.historyText) history = parseHistoryText(h.historyText);
  }
  return { bases, segments, history, timeline, segSize };
}
