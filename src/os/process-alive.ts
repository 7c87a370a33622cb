/**
 * Whether a process still runs, for lock files and work directories that record their owner's
 * pid. Signal 0 checks without signalling; EPERM means it exists but belongs to another user.
 */
export function processAlive(pid: number): boolean {
  // 0 and negative numbers name process groups, not a process: an empty or damaged pid file.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
