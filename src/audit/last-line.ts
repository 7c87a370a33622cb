/**
 * The last non-empty line of an append-only file, read backwards from its end in growing chunks:
 * finding an audit chain's head costs the size of one record, not of the whole log (the log was
 * re-read in full on every append, so appending slowed down as it grew).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export function lastLineOfFd(fd: number): string | null {
  const size = fstatSync(fd).size;
  let chunk = 16 * 1024;
  for (;;) {
    const start = Math.max(0, size - chunk);
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    const text = buf.toString('utf8').replace(/[\r\n\s]+$/, '');
    const nl = text.lastIndexOf('\n');
    // A line that starts inside the chunk is complete; otherwise read further back.
    if (nl >= 0 || start === 0) return text.slice(nl + 1).trim() || null;
    chunk *= 4;
  }
}

export function lastLineOf(file: string): string | null {
  const fd = openSync(file, 'r');
  try {
    return lastLineOfFd(fd);
  } finally {
    closeSync(fd);
  }
}
