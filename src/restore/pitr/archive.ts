/**
 * Archiving one WAL file: what `archive_command` (through `prodguard pitr archive-wal %p %f`) and the
 * streaming shipper call. PostgreSQL retries a failed archive_command and never recycles the
 * segment until it succeeds, so every failure here must be a non-zero exit, never a silent skip.
 * Archiving the same file twice is fine when the bytes are identical and refused when they differ
 * (PostgreSQL's documented contract for archive commands).
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { RefusedError, UsageError } from '../../errors.js';
import type { PitrStore, SegmentMeta } from './store.js';
import { inspectSegment } from './inspect.js';
import { HISTORY_RE, SEGMENT_RE } from './wal.js';

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export interface ArchiveResult {
  name: string;
  status: 'archived' | 'already-archived';
  meta: SegmentMeta;
}

export async function archiveWalFile(store: PitrStore, path: string, name: string = basename(path), via: SegmentMeta['via'] = 'archive-command'): Promise<ArchiveResult> {
  const isSegment = SEGMENT_RE.test(name);
  // Also accepted: timeline histories, backup history files (…​.backup) and promoted partial segments.
  if (!isSegment && !HISTORY_RE.test(name) && !/^[0-9A-F]{24}(\.[0-9A-F]{8}\.backup|\.partial)$/.test(name)) {
    throw new UsageError(`not a WAL file name: "${name}"`, 'pitr.bad-wal-name');
  }
  const existing = store.segmentMeta(name);
  if (existing) {
    const sum = await sha256File(path);
    if (sum === existing.sha256) return { name, status: 'already-archived', meta: existing };
    throw new RefusedError(`WAL file ${name} is already archived with different content (sha256 ${existing.sha256.slice(0, 12)}… vs ${sum.slice(0, 12)}…); refusing to overwrite`, 'pitr.archive-conflict');
  }
  const commits = isSegment ? await inspectSegment(path) : { firstCommit: null, lastCommit: null, minXid: null, maxXid: null, commits: 0 };
  const historyText = HISTORY_RE.test(name) ? readFileSync(path, 'utf8') : undefined;
  const meta = await store.putSegment(path, name, { archivedAt: new Date().toISOString(), via, ...commits, ...(historyText ? { historyText } : {}) });
  return { name, status: 'archived', meta };
}
