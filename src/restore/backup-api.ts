/**
 * The recovery layer's one seam to the backup layer (catalog, download + verify + decrypt,
 * pg_restore, row counts, safety backups). Loaded lazily by restore and drill.
 */
export { getBackup, listBackups } from '../backup/catalog.js';
export { materializeBackup } from '../backup/materialize.js';
export { restoreDump } from '../backup/restore-dump.js';
export { createBackup } from '../backup/create.js';
export type { BackupManifest } from '../backup/manifest.js';
