/**
 * Files prodguard makes owner-only (the audit log, the local state store) are named by
 * configuration, so they can be anything: `state.auditLog: /dev/null` once made prodguard, run as
 * root, chmod the machine's /dev/null to 0600 and break every other program on it (red team
 * w5c-103). Only a regular file (or none yet) is written to and has its permissions changed.
 */
import { statSync } from 'node:fs';
import { UsageError } from '../errors.js';

function kind(mode: number): string {
  const t = mode & 0o170000;
  if (t === 0o020000) return 'a character device';
  if (t === 0o060000) return 'a block device';
  if (t === 0o040000) return 'a directory';
  if (t === 0o010000) return 'a named pipe';
  if (t === 0o140000) return 'a socket';
  return 'not a regular file';
}

/** Throws a one-line UsageError when `path` exists (after symlinks) and is not a regular file. */
export function requireRegularFile(path: string, what: string): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    return; // not there yet: created as a regular file by the caller
  }
  if (!st.isFile()) throw new UsageError(`${what} ${path} is ${kind(st.mode)}; prodguard writes it and keeps it owner-only, so it must be a regular file`, 'config.not-a-file');
}
