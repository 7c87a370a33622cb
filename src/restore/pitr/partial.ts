/**
 * WAL the streaming receiver holds on this host that is not in the archive yet: its segment in
 * progress (<segment>.partial in the spool, the sub-second part of streaming's RPO) and any
 * completed segment the shipper has not moved into the archive yet (it ships every few hundred
 * ms, so right after a segment switch the newest completed segment is often still in the spool).
 * A restore on the prodguard host uses them like archived segments (the approach Barman takes
 * with pg_receivewal): each is copied first (the receiver keeps writing, the shipper removes
 * what it shipped), checksummed, and read with pg_waldump.
 *
 * Leaving the completed ones out made a restore to "just now" see the archive jump from the
 * previous segment to the receiver's new .partial and refuse with a "gap" that was only the
 * shipper's interval.
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

export interface SpoolSegment {
  meta: SegmentMeta;
  /** A private copy, named like the full segment (PostgreSQL asks for that name). */
  copy: string;
  /** The receiver's segment in progress (not yet complete). */
  partial: boolean;
}

export interface SpoolSnapshot {
  segments: SpoolSegment[];
  /** The segment in progress, when there is one. */
  partial: SpoolSegment | null;
  /** The copy to use for a segment, or null when it must come from the archive. */
  copyFor(name: string, archived: boolean): string | null;
  cleanup(): void;
}

/** Backwards-compatible name: the spool's segment in progress and what it belongs to. */
export type PartialSegment = SpoolSnapshot;

function isEnoent(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/**
 * Snapshots the spool: every completed segment not shipped yet and the newest .partial, or null
 * when there is nothing. A file that disappears while being copied was shipped (complete
 * segment: the archive, read after this, has it) or completed (.partial renamed: list again).
 */
export async function snapshotPartial(storeDir: string): Promise<SpoolSnapshot | null> {
  const spool = join(storeDir, 'spool');
  if (!existsSync(spool)) return null;
  const dir = mkdtempSync(join(tmpdir(), 'prodguard-partial-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    for (let attempt = 0; ; attempt++) {
      const files = readdirSync(spool);
      const complete = files.filter((f) => SEGMENT_RE.test(f)).sort();
      const partialFile = files.filter((f) => f.endsWith('.partial') && SEGMENT_RE.test(f.slice(0, -8))).sort().pop();
      const taken: Array<{ name: string; copy: string; partial: boolean }> = [];
      let renamed = false;
      for (const f of [...complete, ...(partialFile ? [partialFile] : [])]) {
        const isPartial = f === partialFile;
        const name = isPartial ? f.slice(0, -8) : f;
        if (taken.some((t) => t.name === name)) continue;
        const copy = join(dir, name);
        try {
          copyFileSync(join(spool, f), copy);
        } catch (err) {
          if (!isEnoent(err)) throw err;
          if (isPartial) renamed = true; // completed meanwhile: it is now a complete segment (or shipped)
          continue;
        }
        taken.push({ name, copy, partial: isPartial });
      }
      if (renamed && attempt < 5) {
        for (const t of taken) rmSync(t.copy, { force: true });
        continue;
      }
      if (taken.length === 0) {
        cleanup();
        return null;
      }
      const segments: SpoolSegment[] = [];
      for (const t of taken) {
        const sha256 = createHash('sha256').update(readFileSync(t.copy)).digest('hex');
        const commits = await inspectSegment(t.copy);
        const size = statSync(t.copy).size;
        segments.push({
          meta: { name: t.name, sha256, size, storedSha256: sha256, storedSize: size, encrypted: false, archivedAt: new Date().toISOString(), via: 'streaming', ...commits },
          copy: t.copy,
          partial: t.partial,
        });
      }
      return {
        segments,
        partial: segments.find((s) => s.partial) ?? null,
        copyFor(name, archived) {
          const s = segments.find((x) => x.meta.name === name);
          if (!s) return null;
          // An archived complete copy beats our copy of the same segment while it was in progress.
          return s.partial && archived ? null : s.copy;
        },
        cleanup,
      };
    }
  } catch (err) {
    cleanup();
    throw err;
  }
}

/** Adds the spool's segments to the index where the archive does not have them yet. */
export function withPartial(ix: ArchiveIndex, p: SpoolSnapshot | null): ArchiveIndex {
  if (!p) return ix;
  const add = p.segments.filter((s) => !ix.segments.has(s.meta.name));
  if (add.length === 0) return ix;
  const segments = new Map(ix.segments);
  for (const s of add) segments.set(s.meta.name, s.meta);
  return { ...ix, segments };
}
