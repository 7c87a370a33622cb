/** What a restore drill leaves in the state store (collection "drills"); read by `status` (rule 6). */
export const DRILLS_COLLECTION = 'drills';

export interface SmokeResult {
  name: string;
  ok: boolean;
  value: string | null;
  expected: string;
  error?: string;
  /** Rows the check returned, and the SQLSTATE of its error: what a redacted report may say (w5c-081). */
  rows?: number;
  sqlstate?: string;
}

export interface DrillRecord {
  id: string;
  environment: string;
  backupId: string | null;
  startedAt: string;
  finishedAt: string;
  ok: boolean;
  /** Restore + verification wall time, milliseconds. */
  rtoMs: number;
  /** Age of the restored data at drill time: now − the backup's snapshot time, milliseconds. */
  rpoMs: number | null;
  tablesChecked: number;
  rowCountMismatches: Array<{ table: string; expected: number; actual: number | null }>;
  smoke: SmokeResult[];
  error?: string;
  /** Database/role settings or grants that could not be applied to the restored copy. */
  warnings?: string[];
}
