/** Row counts after a restore against the backup manifest's: every table, exact. */
export interface CountMismatch {
  table: string;
  expected: number;
  actual: number | null;
}

export function compareRowCounts(expected: Record<string, number>, actual: Record<string, number>): CountMismatch[] {
  const out: CountMismatch[] = [];
  for (const [table, n] of Object.entries(expected)) {
    const a = actual[table];
    if (a !== n) out.push({ table, expected: n, actual: a ?? null });
  }
  return out;
}
