/**
 * The streaming receiver's segment in progress (<segment>.partial in the spool) holds the newest
 * WAL — the sub-second part of streaming's RPO. A restore on the prodguard host may use it as the
 * last segment (the approach Barman takes with pg_receivewal): it is copied first (the receiver
 * keeps writing the original), checksummed, and read with pg_waldump like any archived segment.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArchiveIndex } from './plan.js';
import type { SegmentMeta } from './store.js';
import { inspectSegment } from './inspect.js';
import { SEGMENT_RE } from './wal.js';

export interface PartialSegment {
  meta: SegmentMeta;
  /** A private copy, named like the full segment (PostgreSQL asks for that name). */
  copy: string;
  cleanup(): void;
}

/** Snapshots the spool's .partial segment, or null when there is none. */
export async function snapshotPartial(storeDir: string): Promise<PartialSegment | null> {
  const spool = join(storeDir, 'spool');
  if (!existsSync(spool)) return null;
  const partial = readdirSync(spool).filter((f) => f.endsWith('.partial') && SEGMENT_RE.test(f.slice(0, -8))).sort().pop();
  if (!partial) return null;
  const name = partial.slice(0, -8);
  const dir = mkdtempSync(join(tmpdir(), 'prodguard-partial-'));
  const copy = join(dir, name);
  copyFileSync(join(spool, partial), copy);
  const bytes = readFileSync(copy);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const commits = await inspectSegment(copy);
  const size = statSync(copy).size;
  return {
    meta: { name, sha256, size, storedSha256: sha256, storedSize: size, encrypted: false, archivedAt: new Date().toISOString(), via: 'streaming', ...commits },
    copy,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Adds the partial segment to the index when it is not archived yet. */
export function withPartial(ix: ArchiveIndex, p: PartialSegment | null): ArchiveIndex {
  if (!p || ix.segments.has(p.meta.name)) return ix;
  const segments = new Map(ix.segments);
  segments.set(p.meta.name, p.meta);
  return { ...ix, segments };
}
