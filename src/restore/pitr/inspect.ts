/**
 * What a WAL segment contains, read with pg_waldump: the commit and abort records with their
 * timestamps and transaction ids. Recorded at archive time so that `pitr status` can say the
 * latest restorable moment and `pitr restore` knows which segments a target needs without
 * decrypting anything.
 */
import { runPgTool } from '../../pg/run-tool.js';
import type { CommitInfo } from './store.js';
import { microsToIso, parseTimestampMicros } from './wal.js';

export interface SegmentCommits {
  firstCommit: CommitInfo | null;
  lastCommit: CommitInfo | null;
  minXid: number | null;
  maxXid: number | null;
  commits: number;
}

// e.g. "rmgr: Transaction len (rec/tot): 34/34, tx: 735, lsn: 0/01734F28, prev 0/01734EF0, desc: COMMIT 2026-11-25 07:10:01.123456 UTC"
const RECORD = /tx:\s*(\d+), lsn: ([0-9A-F]+\/[0-9A-F]+),.*desc: (?:COMMIT|ABORT|COMMIT_PREPARED|ABORT_PREPARED)\b.*?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC/;

export function parseWaldump(text: string): SegmentCommits {
  const out: SegmentCommits = { firstCommit: null, lastCommit: null, minXid: null, maxXid: null, commits: 0 };
  for (const line of text.split('\n')) {
    const m = RECORD.exec(line);
    if (!m) continue;
    const micros = parseTimestampMicros(`${m[3]}Z`);
    if (micros === null) continue;
    const info: CommitInfo = { time: microsToIso(micros), xid: Number(m[1]), lsn: m[2] };
    out.firstCommit ??= info;
    out.lastCommit = info;
    out.commits++;
    if (info.xid !== 0) {
      out.minXid = out.minXid === null ? info.xid : Math.min(out.minXid, info.xid);
      out.maxXid = out.maxXid === null ? info.xid : Math.max(out.maxXid, info.xid);
    }
  }
  return out;
}

/** Reads a segment file's transaction records (pg_waldump ends with an error at the segment's end: expected). */
export async function inspectSegment(path: string): Promise<SegmentCommits> {
  const res = await runPgTool('pg_waldump', ['-r', 'Transaction', path], { allowFailure: true, env: { TZ: 'UTC' } });
  return parseWaldump(res.stdout);
}
