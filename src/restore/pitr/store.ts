/**
 * Where PITR files live: WAL segments (with a JSON sidecar per segment holding its checksums and
 * the commits it contains) and base backups (tar files plus a manifest written last, so a
 * half-written base backup is never listed). `PitrStore` is the seam to the backup layer's
 * destinations; `LocalPitrStore` keeps everything in a folder (config.pitr.walDir/<env>).
 *
 * Layout:
 *   <root>/wal/<segment>[.age]        the segment, encrypted with age unless noEncrypt
 *   <root>/wal/<segment>.json         SegmentMeta (sha256 of plaintext and of stored bytes, commits)
 *   <root>/wal/<tli>.history[.age|.json]  timeline history files, same treatment
 *   <root>/base/<id>/<file>[.age]      base.tar, pg_wal.tar, backup_manifest
 *   <root>/base/<id>/manifest.json     BaseBackupManifest — written last
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedConfig } from '../../config/load.js';
import { configPath } from '../../config/load.js';
import { requireEnvironment } from '../../config/connection.js';
import { writeProtected, readProtected, type EncryptionSettings, type WrittenFile } from './crypto.js';
import { HISTORY_RE, SEGMENT_RE } from './wal.js';

export interface CommitInfo {
  /** ISO timestamp with microseconds (UTC). */
  time: string;
  xid: number;
  lsn: string;
}

export interface SegmentMeta extends WrittenFile {
  name: string;
  archivedAt: string;
  /** How it got here: archive_command or the streaming receiver. */
  via: 'archive-command' | 'streaming';
  firstCommit: CommitInfo | null;
  lastCommit: CommitInfo | null;
  minXid: number | null;
  maxXid: number | null;
  commits: number;
  /** For timeline history files: their (non-secret) text, so the lineage is known without decrypting. */
  historyText?: string;
}

export interface StoredFileRef extends WrittenFile {
  /** File name inside the base backup folder (plaintext name, e.g. base.tar). */
  name: string;
}

export interface BaseBackupManifest {
  id: string;
  environment: string;
  startedAt: string;
  finishedAt: string;
  startLsn: string;
  stopLsn: string;
  timeline: number;
  startSegment: string;
  walSegmentSize: number;
  serverVersion: string;
  systemIdentifier: string;
  files: StoredFileRef[];
}

export interface PitrStore {
  readonly location: string;
  putSegment(localPath: string, name: string, meta: Omit<SegmentMeta, keyof WrittenFile | 'name'>): Promise<SegmentMeta>;
  segmentMeta(name: string): SegmentMeta | null;
  /** Names of every archived segment and history file (sidecar present = complete). */
  listWal(): { segments: string[]; histories: string[] };
  fetchWal(name: string, dest: string, identity: string | null): Promise<void>;
  putBaseFile(id: string, localPath: string, name: string): Promise<StoredFileRef>;
  commitBase(manifest: BaseBackupManifest): void;
  listBases(): BaseBackupManifest[];
  fetchBaseFile(id: string, file: StoredFileRef, dest: string, identity: string | null): Promise<void>;
}

export class LocalPitrStore implements PitrStore {
  constructor(readonly location: string, private readonly enc: EncryptionSettings | null) {}

  private get walDir() {
    return join(this.location, 'wal');
  }
  private storedName(name: string) {
    return this.enc && !this.enc.plaintext ? `${name}.age` : name;
  }
  private requireEnc(): EncryptionSettings {
    if (!this.enc) throw new Error('store opened read-only');
    return this.enc;
  }

  async putSegment(localPath: string, name: string, meta: Omit<SegmentMeta, keyof WrittenFile | 'name'>): Promise<SegmentMeta> {
    mkdirSync(this.walDir, { recursive: true });
    const stored = this.storedName(name);
    const tmp = join(this.walDir, `.${stored}.${process.pid}.tmp`);
    try {
      const written = await writeProtected(localPath, tmp, this.requireEnc());
      const full: SegmentMeta = { name, ...written, ...meta };
      renameSync(tmp, join(this.walDir, stored));
      // The sidecar is written last: a segment without one was never completely archived.
      const side = join(this.walDir, `.${name}.json.${process.pid}.tmp`);
      writeFileSync(side, JSON.stringify(full, null, 1), { mode: 0o600 });
      renameSync(side, join(this.walDir, `${name}.json`));
      return full;
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  segmentMeta(name: string): SegmentMeta | null {
    const p = join(this.walDir, `${name}.json`);
    if (!existsSync(p)) return null;
    return JSON.parse(readFileSync(p, 'utf8')) as SegmentMeta;
  }

  listWal() {
    if (!existsSync(this.walDir)) return { segments: [], histories: [] };
    const names = readdirSync(this.walDir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
    return {
      segments: names.filter((n) => SEGMENT_RE.test(n)).sort(),
      histories: names.filter((n) => HISTORY_RE.test(n)).sort(),
    };
  }

  async fetchWal(name: string, dest: string, identity: string | null): Promise<void> {
    const meta = this.segmentMeta(name);
    if (!meta) throw new Error(`WAL file ${name} is not in the archive`);
    await readProtected(join(this.walDir, meta.encrypted ? `${name}.age` : name), dest, meta, identity, `WAL file ${name}`);
  }

  async putBaseFile(id: string, localPath: string, name: string): Promise<StoredFileRef> {
    const dir = join(this.location, 'base', id);
    mkdirSync(dir, { recursive: true });
    const written = await writeProtected(localPath, join(dir, this.storedName(name)), this.requireEnc());
    return { name, ...written };
  }

  commitBase(manifest: BaseBackupManifest): void {
    const dir = join(this.location, 'base', manifest.id);
    const tmp = join(dir, '.manifest.json.tmp');
    writeFileSync(tmp, JSON.stringify(manifest, null, 2), { mode: 0o600 });
    renameSync(tmp, join(dir, 'manifest.json'));
  }

  listBases(): BaseBackupManifest[] {
    const dir = join(this.location, 'base');
    if (!existsSync(dir)) return [];
    const out: BaseBackupManifest[] = [];
    for (const id of readdirSync(dir)) {
      const m = join(dir, id, 'manifest.json');
      if (existsSync(m)) out.push(JSON.parse(readFileSync(m, 'utf8')) as BaseBackupManifest);
    }
    return out.sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
  }

  async fetchBaseFile(id: string, file: StoredFileRef, dest: string, identity: string | null): Promise<void> {
    const src = join(this.location, 'base', id, file.encrypted ? `${file.name}.age` : file.name);
    await readProtected(src, dest, file, identity, `base backup ${id} file ${file.name}`);
  }
}

/** The store directory of an environment: config.pitr.walDir/<env>. */
export function pitrStoreDir(loaded: LoadedConfig, envName: string): string {
  requireEnvironment(loaded, envName);
  return join(configPath(loaded, loaded.config.pitr.walDir), envName);
}

/** Opens the environment's PITR store; `enc` null = read/fetch only (no recipients needed). */
export function openPitrStore(loaded: LoadedConfig, envName: string, enc: EncryptionSettings | null): PitrStore {
  return new LocalPitrStore(pitrStoreDir(loaded, envName), enc);
}
