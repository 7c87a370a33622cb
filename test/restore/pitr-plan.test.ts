import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findGaps, planRecovery, type ArchiveIndex } from '../../src/restore/pitr/plan.js';
import type { BaseBackupManifest, SegmentMeta } from '../../src/restore/pitr/store.js';
import { parseHistory, parseLsn, segmentName, timelineForSegment, parseTimestampMicros, formatLsn } from '../../src/restore/pitr/wal.js';

const SEG = 16 * 1024 * 1024;

function seg(name: string, lastCommit?: string): [string, SegmentMeta] {
  return [name, {
    name, sha256: 'x', size: SEG, storedSha256: 'x', storedSize: SEG, encrypted: false, archivedAt: '', via: 'archive-command',
    firstCommit: lastCommit ? { time: lastCommit, xid: 10, lsn: '0/0' } : null, lastCommit: lastCommit ? { time: lastCommit, xid: 10, lsn: '0/0' } : null,
    minXid: lastCommit ? 10 : null, maxXid: lastCommit ? 10 : null, commits: lastCommit ? 1 : 0,
  }];
}

const base: BaseBackupManifest = {
  id: 'b1', environment: 'production', startedAt: '2026-11-25T10:00:00.000Z', finishedAt: '2026-11-25T10:00:01.000Z',
  startLsn: '0/2000028', stopLsn: '0/2000100', timeline: 1, startSegment: '000000010000000000000002', walSegmentSize: SEG,
  serverVersion: '15', systemIdentifier: '1', files: [],
};

test('segment names and LSNs follow PostgreSQL (XLogFileName)', () => {
  assert.equal(segmentName(1, 0x1ffn), '0000000100000001000000FF');
  assert.equal(formatLsn(parseLsn('16/B374D848')), '16/B374D848');
  assert.equal(parseTimestampMicros('2026-11-25 10:31:07.25+01'), parseTimestampMicros('2026-11-25T09:31:07.250000Z'));
  assert.equal(parseTimestampMicros('2026-11-25 10:31:07'), null, 'a time without a zone is ambiguous and rejected');
});

test('after a timeline switch, segments from the switch point on are read from the new timeline', () => {
  const history = parseHistory('1\t0/5000060\tbefore 2026-11-25 10:05:00+00\n');
  assert.equal(timelineForSegment(4n, 2, history, SEG), 1);
  assert.equal(timelineForSegment(5n, 2, history, SEG), 2, 'the segment holding the switch point comes from the new timeline');
  const ix: ArchiveIndex = {
    bases: [base], history, timeline: 2, segSize: SEG,
    segments: new Map([seg('000000010000000000000002'), seg('000000010000000000000003'), seg('000000010000000000000004'), seg('000000010000000000000005'), seg('000000020000000000000005'), seg('000000020000000000000007')]),
  };
  assert.deepEqual(findGaps(ix, 2n), ['000000020000000000000006']);
});

test('a time target needs every segment up to the first commit after it, and refuses a gap on the way by name', () => {
  const ix: ArchiveIndex = {
    bases: [base], history: [], timeline: 1, segSize: SEG,
    segments: new Map([seg('000000010000000000000002', '2026-11-25T10:00:02.000000Z'), seg('000000010000000000000003', '2026-11-25T10:00:05.000000Z'), seg('000000010000000000000005', '2026-11-25T10:00:09.000000Z')]),
  };
  const t = (s: string) => ({ kind: 'time' as const, value: s, micros: parseTimestampMicros(s)! });
  assert.deepEqual(planRecovery(ix, t('2026-11-25T10:00:03Z')).segments, ['000000010000000000000002', '000000010000000000000003']);
  assert.throws(() => planRecovery(ix, t('2026-11-25T10:00:07Z')), /needs WAL segment 000000010000000000000004, which is missing/);
  assert.throws(() => planRecovery(ix, t('2026-11-25T09:00:00Z')), /earliest recoverable moment is 2026-11-25T10:00:01.000Z/);
});
