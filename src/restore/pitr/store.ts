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
 *
 * Every file written here is also copied, as stored (encrypted), to every backup destination
 * (backup.destinations) under pitr/<env>/…, sidecars and manifests last; a copy that fails makes
 * the write fail (PostgreSQL then retries the segment), so no segment counts as archived with a
 * copy missing. `pullFromDestination` rebuilds the local folder from a destination.
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Destination } from '../../backup/destinations/types.js';
import { RefusedError, errorMessage } from '../../errors.js';
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
  commitBase(manifest: BaseBackupManifest): Promise<void>;
  listBases(): BaseBackupManifest[];
  fetchBaseFile(id: string, file: StoredFileRef, dest: string, identity: string | null): Promise<void>;
  close(): Promise<void>;
}

export class LocalPitrStore implements PitrStore {
  constructor(
    readonly location: string,
    private readonly enc: EncryptionSettings | null,
    private readonly mirrors: Destination[] = [],
    private readonly mirrorPrefix = '',
  ) {}

  /** Copies a local file of the store to every destination (key = pitr/<env>/<path inside the store>). */
  private async mirror(path: string): Promise<void> {
    const key = `${this.mirrorPrefix}/${relative(this.location, path).split('\\').join('/')}`;
    for (const d of this.mirrors) {
      try {
        await d.putStream(key, createReadStream(path));
      } catch (err) {
        throw new RefusedError(`copying ${key} to destination ${d.name} failed: ${errorMessage(err)}`, 'pitr.destination-failed', err);
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.mirrors.map((d) => d.close().catch(() => {})));
  }

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
      await this.mirror(join(this.walDir, stored));
      // The sidecar is written last: a segment without one was never completely archived.
      const side = join(this.walDir, `.${name}.json.${process.pid}.tmp`);
      writeFileSync(side, JSON.stringify(full, null, 1), { mode: 0o600 });
      renameSync(side, join(this.walDir, `${name}.json`));
      await this.mirror(join(this.walDir, `${name}.json`)).catch((err) => {
        rmSync(join(this.walDir, `${name}.json`), { force: true });
        throw err;
      });
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
    await this.mirror(join(dir, this.storedName(name)));
    return { name, ...written };
  }

  async commitBase(manifest: BaseBackupManifest): Promise<void> {
    const dir = join(this.location, 'base', manifest.id);
    const tmp = join(dir, '.manifest.json.tmp');
    writeFileSync(tmp, JSON.stringify(manifest, null, 2), { mode: 0o600 });
    renameSync(tmp, join(dir, 'manifest.json'));
    await this.mirror(join(dir, 'manifest.json')).catch((err) => {
      rmSync(join(dir, 'manifest.json'), { force: true });
      throw err;
    });
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

/**
 * Opens the environment's PITR store; `enc` null = read/fetch only (no recipients needed).
 * Writing stores copy every file to the backup destinations (`mirrors`, default: all configured).
 */
export async function openPitrStore(loaded: LoadedConfig, envName: string, enc: EncryptionSettings | null): Promise<PitrStore> {
  let mirrors: Destination[] = [];
  if (enc && loaded.config.backup.destinations.length > 0) {
    const { openDestinations } = await import('../../backup/destinations/index.js');
    mirrors = openDestinations(loaded);
  }
  return new LocalPitrStore(pitrStoreDir(loaded, envName), enc, mirrors, `pitr/${envName}`);
}

/**
 * Rebuilds the local PITR folder of an environment from a backup destination (after losing the
 * prodguard host): copies every pitr/<env>/ object that is not already present, sidecars and
 * manifests last so nothing half-copied is ever listed.
 */
export async function pullFromDestination(loaded: LoadedConfig, envName: string, destinationName: string): Promise<{ copied: number; skipped: number }> {
  const { openDestinations, closeDestinations } = await import('../../backup/destinations/index.js');
  const all = openDestinations(loaded);
  try {
    const d = all.find((x) => x.name === destinationName);
    if (!d) throw new RefusedError(`no backup destination named "${destinationName}" (configured: ${all.map((x) => x.name).join(', ')})`, 'pitr.unknown-destination');
    const prefix = `pitr/${envName}/`;
    const root = pitrStoreDir(loaded, envName);
    const keys = (await d.list(prefix)).map((o) => o.key).filter((k) => !k.split('/').pop()!.startsWith('.'));
    const isIndex = (k: string) => k.endsWith('.json');
    let copied = 0;
    let skipped = 0;
    for (const key of [...keys.filter((k) => !isIndex(k)), ...keys.filter(isIndex)]) {
      const local = join(root, key.slice(prefix.length));
      if (existsSync(local)) {
        skipped++;
        continue;
      }
      const body = await d.getStream(key);
      if (!body) continue;
      mkdirSync(dirname(local), { recursive: true });
      const tmp = `${local}.pull.tmp`;
      await pipeline(body, createWriteStream(tmp, { mode: 0o600 }));
      renameSync(tmp, local);
      copied++;
    }
    return { copied, skipped };
  } finally {
    await closeDestinations(all);
  }
}
