/**
 * WAL naming and positions. A segment file name is TTTTTTTTXXXXXXXXYYYYYYYY: the timeline, then the
 * segment number split in "log id" and "segment within the log id" (see PostgreSQL's
 * src/include/access/xlog_internal.h, XLogFileName). An LSN "X/Y" is a 64-bit byte position.
 */
export const DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024;

export const SEGMENT_RE = /^[0-9A-F]{24}$/;
export const HISTORY_RE = /^[0-9A-F]{8}\.history$/;

export function parseLsn(s: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(s.trim());
  if (!m) throw new Error(`not an LSN: "${s}" (expected X/Y in hex, e.g. 0/3000060)`);
  return (BigInt('0x' + m[1]) << 32n) | BigInt('0x' + m[2]);
}

export function formatLsn(v: bigint): string {
  return `${(v >> 32n).toString(16).toUpperCase()}/${(v & 0xffffffffn).toString(16).toUpperCase()}`;
}

function segsPerId(segSize: number): bigint {
  return 0x100000000n / BigInt(segSize);
}

export function segmentName(tli: number, segNo: bigint, segSize = DEFAULT_SEGMENT_SIZE): string {
  const per = segsPerId(segSize);
  const hex = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, '0');
  return hex(tli) + hex(segNo / per) + hex(segNo % per);
}

export function parseSegmentName(name: string, segSize = DEFAULT_SEGMENT_SIZE): { tli: number; segNo: bigint } {
  if (!SEGMENT_RE.test(name)) throw new Error(`not a WAL segment name: ${name}`);
  const tli = parseInt(name.slice(0, 8), 16);
  const log = BigInt('0x' + name.slice(8, 16));
  const seg = BigInt('0x' + name.slice(16, 24));
  return { tli, segNo: log * segsPerId(segSize) + seg };
}

export function segNoOfLsn(lsn: bigint, segSize = DEFAULT_SEGMENT_SIZE): bigint {
  return lsn / BigInt(segSize);
}

/** One line of a timeline history file: this timeline branched off `parentTli` at `switchLsn`. */
export interface TimelineSwitch {
  parentTli: number;
  switchLsn: bigint;
}

/** Parses `0000000N.history` (lines "parentTLI<TAB>switchpoint<TAB>reason"). */
export function parseHistory(text: string): TimelineSwitch[] {
  const out: TimelineSwitch[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const [tli, lsn] = t.split(/\s+/);
    if (!/^\d+$/.test(tli) || !lsn) continue;
    out.push({ parentTli: Number(tli), switchLsn: parseLsn(lsn) });
  }
  return out;
}

/**
 * Which timeline a segment number must be read from when recovering along timeline `target`,
 * given target's history: the segment holding a switch point exists on both timelines, and
 * recovery reads it from the newer one (that copy holds the records after the switch).
 */
export function timelineForSegment(segNo: bigint, target: number, history: TimelineSwitch[], segSize = DEFAULT_SEGMENT_SIZE): number {
  // history[i]: timeline history[i].parentTli ended at switchLsn (the lines are oldest first).
  for (let i = 0; i < history.length; i++) {
    if (segNo < segNoOfLsn(history[i].switchLsn, segSize)) return history[i].parentTli;
  }
  return target;
}

/**
 * Timestamps as microseconds since the epoch, so that comparisons keep PostgreSQL's precision
 * (JavaScript dates stop at milliseconds). Accepts "2026-11-25 10:31:07+00", "…07.123456Z", "… UTC".
 */
export function parseTimestampMicros(s: string): bigint | null {
  const m = /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?\s*(Z|UTC|[+-]\d\d(?::?\d\d)?)$/i.exec(s.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  let offsetMin = 0;
  if (!/^(Z|UTC)$/i.test(zone)) {
    const z = /^([+-])(\d\d)(?::?(\d\d))?$/.exec(zone)!;
    offsetMin = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3] ?? 0));
  }
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec)) - offsetMin * 60_000;
  if (Number.isNaN(ms)) return null;
  return BigInt(ms) * 1000n + BigInt((frac ?? '').padEnd(6, '0'));
}

export function microsToIso(us: bigint): string {
  const ms = Number(us / 1000n);
  const micro = (us % 1_000_000n).toString().padStart(6, '0');
  return new Date(ms).toISOString().slice(0, 19) + '.' + micro + 'Z';
}
