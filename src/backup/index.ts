/**
 * The backup layer's public API — other layers (restore, drills, migrate deploy, the command
 * guard's backup-first) use exactly these. See docs/backup.md.
 */
export type { BackupManifest, BackupObject, BackupVerification } from './manifest.js';
export { createBackup, type CreateBackupOptions, type CreateBackupResult } from './create.js';
export { listBackups, getBackup, latestVerifiedBackup } from './catalog.js';
export { materializeBackup, type MaterializedBackup } from './materialize.js';
export { restoreDump, type RestoreDumpOptions } from './restore-dump.js';
export { countRows, compareRowCounts } from './row-counts.js';
export { verifyBackup, type VerifyResult, type VerifyOptions } from './verify.js';
export { syncCatalog, type SyncResult } from './sync-catalog.js';
export { pruneBackups, type PruneResult, type PruneOptions } from './prune.js';
export { decideRetention } from './retention.js';
export { generateKeyPair } from './encryption.js';
