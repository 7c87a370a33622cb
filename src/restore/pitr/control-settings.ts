/**
 * The primary's hot-standby-critical settings, as recorded in the base backup's control file
 * (`pg_controldata`). A server recovering WAL with hot_standby on must run with at least these
 * values, or PostgreSQL aborts recovery ("insufficient parameter settings"). The restored cluster
 * is started with the larger of these and prodguard's own throw-away defaults.
 */
import { runPgTool } from '../../pg/run-tool.js';
import { RefusedError } from '../../errors.js';

/** pg_controldata label → postgresql.conf name. */
const LABELS: Record<string, string> = {
  'max_connections setting': 'max_connections',
  'max_worker_processes setting': 'max_worker_processes',
  'max_wal_senders setting': 'max_wal_senders',
  'max_prepared_xacts setting': 'max_prepared_transactions',
  'max_locks_per_xact setting': 'max_locks_per_transaction',
};

export type ControlSettings = Record<string, number>;

export function parseControlData(text: string): ControlSettings {
  const out: ControlSettings = {};
  for (const line of text.split('\n')) {
    const m = /^([^:]+):\s*(\d+)\s*$/.exec(line.trim());
    if (m && LABELS[m[1].trim()]) out[LABELS[m[1].trim()]] = Number(m[2]);
  }
  return out;
}

/** Reads the settings from a data directory's global/pg_control; refuses when any is unreadable. */
export async function readControlSettings(dataDir: string): Promise<ControlSettings> {
  const res = await runPgTool('pg_controldata', [dataDir], { allowFailure: true, env: { LC_ALL: 'C', LANG: 'C' } });
  if (res.code !== 0) throw new RefusedError(`cannot read the base backup's control data (pg_controldata: ${res.stderr.trim().split('\n').pop()})`, 'pitr.control-data');
  const s = parseControlData(res.stdout);
  const missing = Object.values(LABELS).filter((k) => s[k] === undefined);
  if (missing.length) throw new RefusedError(`the base backup's control data lacks ${missing.join(', ')}`, 'pitr.control-data');
  return s;
}

/** Settings for the recovering server: at least the primary's, never lower than our defaults. */
export function recoveryServerSettings(primary: ControlSettings, defaults: Record<string, number> = { max_connections: 50 }): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(primary)) out[k] = Math.max(v, defaults[k] ?? 0);
  return out;
}

/**
 * The last FATAL (or PANIC) message of a server log with the DETAIL and HINT lines PostgreSQL
 * wrote with it (and with the WARNING that explains it, e.g. which parameter is too low).
 */
export function fatalWithContext(log: string): string | null {
  const lines = log.split('\n');
  let idx = -1;
  for (let i = lines.length - 1; i >= 0; i--) if (/\b(FATAL|PANIC):/.test(lines[i])) { idx = i; break; }
  if (idx < 0) return null;
  const strip = (l: string) => l.replace(/^.*?\b(FATAL|PANIC|DETAIL|HINT|WARNING):\s*/, (_m, k: string) => (k === 'FATAL' || k === 'PANIC' ? '' : `${k}: `)).trim();
  const parts = [strip(lines[idx])];
  // DETAIL/HINT follow their message; a WARNING just before often carries the DETAIL naming the parameter.
  for (let j = idx + 1; j < lines.length && /\b(DETAIL|HINT|CONTEXT):/.test(lines[j]); j++) if (!/CONTEXT:/.test(lines[j])) parts.push(strip(lines[j]));
  for (let j = idx - 1; j >= 0 && j >= idx - 6; j--) {
    if (/\b(DETAIL|HINT):/.test(lines[j])) parts.splice(1, 0, strip(lines[j]));
    else if (!/\bCONTEXT:/.test(lines[j])) break;
  }
  return [...new Set(parts)].join(' ');
}
