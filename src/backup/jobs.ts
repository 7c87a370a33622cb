/** How many parallel pg_dump / pg_restore jobs: backup.jobs, where 'auto' is the cores available (at most 4). */
import { availableParallelism } from 'node:os';

export function backupJobs(jobs: number | 'auto'): number {
  return jobs === 'auto' ? Math.max(1, Math.min(4, availableParallelism())) : jobs;
}
