/**
 * Production's commit times, read from the SHADOW's WAL. The shadow's own commit time of an applied
 * transaction is when the apply worker committed it (later than production, by the lag, and many
 * production commits land within the same shadow millisecond), so recovery_target_time on the
 * shadow cannot cut at a production moment. But the apply worker runs with a replication origin,
 * and PostgreSQL writes the origin's commit LSN and commit timestamp into every applied COMMIT
 * record; pg_waldump prints them:
 *
 *   tx: 730, lsn: 0/0153A868, … desc: COMMIT 2026-11-26 11:36:22.478896 UTC; origin: node 1, lsn 0/1660030, at 2026-11-26 11:36:22.277133 UTC
 *
 * The apply worker applies production's transactions one at a time in production's commit order,
 * so "every transaction production committed before T" is a prefix of the shadow's WAL, ending at
 * the last applied commit whose origin time is before T. (Tablesync workers and the apply worker's
 * own bookkeeping commit with origin LSN 0/0: they carry no production transaction.)
 */
import { runPgTool } from '../pg/run-tool.js';
import { parseTimestampMicros } from '../restore/pitr/wal.js';

export interface OriginCommit {
  /** The shadow's transaction id and the LSN of its COMMIT record. */
  xid: number;
  lsn: string;
  /** The shadow's own commit time (ISO). */
  localTime: string;
  /** Production's commit time and LSN. */
  originTime: string;
  originMicros: bigint;
  originLsn: string;
  originId: number;
}

const TS = String.raw`(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC`;
const LINE = new RegExp(String.raw`tx:\s*(\d+), lsn: ([0-9A-F]+/[0-9A-F]+),.*desc: COMMIT ${TS}.*; origin: node (\d+), lsn ([0-9A-F]+/[0-9A-F]+), at ${TS}`);

const iso = (s: string) => `${s.replace(' ', 'T')}Z`;

/** Parses pg_waldump output (-r Transaction) into the commits applied from a replication origin. */
export function parseOriginCommits(text: string, originId: number | null): OriginCommit[] {
  const out: OriginCommit[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, xid, lsn, local, node, originLsn, originTs] = m;
    if (originLsn === '0/0') continue;
    if (originId !== null && Number(node) !== originId) continue;
    const micros = parseTimestampMicros(iso(originTs));
    if (micros === null) continue;
    out.push({ xid: Number(xid), lsn, localTime: iso(local), originTime: iso(originTs), originMicros: micros, originLsn, originId: Number(node) });
  }
  return out;
}

/** Reads the commits of a directory of WAL segments, from `first` to `last` (pg_waldump stops with an error at the end of the WAL written so far: expected). */
export async function readOriginCommits(dir: string, first: string, last: string, originId: number | null): Promise<OriginCommit[]> {
  const res = await runPgTool('pg_waldump', ['-r', 'Transaction', '-p', dir, first, last], { allowFailure: true, env: { TZ: 'UTC' } });
  return parseOriginCommits(res.stdout, originId);
}

export interface Cut {
  /** The last production transaction committed before T (restored), or null when none since the base. */
  lastBefore: OriginCommit | null;
  /** The first one committed at or after T (not restored), or null when the archive has none yet. */
  firstAfter: OriginCommit | null;
}

export function cutAt(commits: OriginCommit[], micros: bigint): Cut {
  let lastBefore: OriginCommit | null = null;
  for (const c of commits) {
    if (c.originMicros >= micros) return { lastBefore, firstAfter: c };
    lastBefore = c;
  }
  return { lastBefore, firstAfter: null };
}
