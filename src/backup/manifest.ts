/**
 * The backup manifest: what a backup is, written LAST on every destination. A backup without a
 * manifest is incomplete — never listed, never restored, cleaned up by `backup prune`.
 */
export interface BackupObject {
  /** Object name relative to the backup's folder, e.g. "dump.pgcustom.age". */
  name: string;
  /** Bytes as stored (ciphertext when encrypted). */
  bytes: number;
  /** sha256 of the bytes as stored: checked before anything is decrypted. */
  sha256: string;
  encrypted: boolean;
  /** true when the plaintext is compressed (pg_dump's own compression for custom/directory format). */
  compressed: boolean;
}

export interface BackupVerification {
  at: string;
  ok: boolean;
  durationMs: number;
  problems: string[];
}

export interface BackupManifest {
  id: string;
  environment: string;
  database: string;
  serverVersion: string;
  pgDumpVersion: string;
  startedAt: string;
  finishedAt: string;
  snapshot: string;
  lsn: string;
  format: 'custom' | 'directory';
  objects: BackupObject[];
  rowCounts: Record<string, number>;
  recipients: string[];
  destinations: string[];
  reason?: string;
  degraded?: boolean;
  verified?: BackupVerification;
  /** pg_control system identifier of the server the backup was taken from (restores compare it). */
  systemIdentifier?: string;
  /**
   * The policy version whose signed backup terms list exactly these destinations and recipients
   * (src/backup/destination-policy.ts); null: no policy authorised them (unsigned). Absent in
   * manifests written before destinations were signed.
   */
  destinationsAuthorisedBy?: { version: number; hash: string } | null;
  /** Why globals/roles are absent (e.g. not permitted on a managed service). */
  globalsSkipped?: string;
}

export const MANIFEST_NAME = 'manifest.json';
export const MANIFEST_VERSION = 1;

/** Sortable, unique, readable: 20261125T072100Z-3f9a1c. */
export function newBackupId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const rand = Math.random().toString(16).slice(2, 8).padEnd(6, '0');
  return `${stamp}-${rand}`;
}

export const BACKUP_ID_RE = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

/** The folder of a backup on a destination: <env>/<id>/. */
export function backupFolder(env: string, id: string): string {
  return `${env}/${id}`;
}

export function dumpObjectName(format: 'custom' | 'directory', encrypted: boolean, file?: string): string {
  const ext = encrypted ? '.age' : '';
  return format === 'custom' ? `dump.pgcustom${ext}` : `dump.d/${file}${ext}`;
}

export function globalsObjectName(encrypted: boolean): string {
  return `globals.sql${encrypted ? '.age' : ''}`;
}

/** Parses and sanity-checks a manifest read from a destination; null if it is not one. */
export function parseManifest(text: string): BackupManifest | null {
  try {
    const m = JSON.parse(text) as BackupManifest;
    if (!m || typeof m.id !== 'string' || !BACKUP_ID_RE.test(m.id) || typeof m.environment !== 'string' || !Array.isArray(m.objects)) return null;
    return m;
  } catch {
    return null;
  }
}
