/**
 * The recovery layer's one seam to the backup layer's public API (src/backup/index.ts): catalog,
 * download + verify + decrypt, pg_restore, safety backups. Loaded lazily by restore and drill.
 */
export { getBackup, listBackups, materializeBackup, restoreDump, createBackup } from '../backup/index.js';
export type { BackupManifest } from '../backup/index.js';
export { openBackupStream, type BackupStream } from '../backup/stream-restore.js';
