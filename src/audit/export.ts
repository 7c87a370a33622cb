import type { AuditRecord } from './log.js';

const COLUMNS = ['seq', 'time', 'actor', 'action', 'command', 'target', 'verdict', 'reason', 'prev', 'hash'] as const;

function csvCell(v: unknown): string {
  const s = v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

/** RFC 4180 CSV with a header row; details are a JSON column. */
export function auditToCsv(records: AuditRecord[]): string {
  const lines = [[...COLUMNS, 'details'].join(',')];
  for (const r of records) lines.push([...COLUMNS.map((c) => csvCell(r[c])), csvCell(r.details ?? '')].join(','));
  return lines.join('\n') + '\n';
}
