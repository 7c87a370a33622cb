/**
 * Bringing a backup back to local disk as something pg_restore can read: download each object
 * from a healthy destination, check its sha256 BEFORE decrypting (a damaged or swapped object is
 * never fed to the decrypter or to pg_restore), then decrypt. A destination whose copy is bad is
 * skipped for the next one; when none is good, a RefusedError names the object.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Context } from '../context.js';
import { RefusedError, UsageError, ProdguardError } from '../errors.js';
import { openDestinations, closeDestinations, type Destination } from './destinations/index.js';
import { decryptStream, requireIdentity } from './encryption.js';
import { describeError } from './fan-out.js';
import { getBackup } from './catalog.js';
import { dbPropertiesObjectName } from './db-properties.js';
import { backupFolder, globalsObjectName, type BackupManifest, type BackupObject } from './manifest.js';

export interface MaterializedBackup {
  manifest: BackupManifest;
  dumpPath: string;
  globalsPath?: string;
  /** database.json: roles, database/role settings, database ACL and comment (backups from this version on). */
  propertiesPath?: string;
}

/** The destinations (configured and named in the manifest) that should hold the backup. */
export function manifestDestinations(all: Destination[], m: BackupManifest): Destination[] {
  return m.destinations.map((n) => all.find((d) => d.name === n)).filter((d): d is Destination => !!d);
}

/** Streams an object and returns its sha256 and size, without keeping it. */
export async function hashObject(dest: Destination, key: string): Promise<{ sha256: string; bytes: number } | null> {
  const s = await dest.getStream(key);
  if (!s) return null;
  const h = createHash('sha256');
  let bytes = 0;
  for await (const c of s) {
    h.update(c as Buffer);
    bytes += (c as Buffer).length;
  }
  return { sha256: h.digest('hex'), bytes };
}

/** Checks one object's stored copy; a problem line naming destination and object, or null. */
export function objectProblem(dest: string, o: BackupObject, got: { sha256: string; bytes: number } | null): string | null {
  if (!got) return `destination ${dest}: object ${o.name} is missing`;
  if (got.bytes !== o.bytes) return `destination ${dest}: object ${o.name} has ${got.bytes} bytes, manifest says ${o.bytes}`;
  if (got.sha256 !== o.sha256) return `destination ${dest}: object ${o.name} sha256 mismatch (damaged: got ${got.sha256.slice(0, 12)}…, manifest ${o.sha256.slice(0, 12)}…)`;
  return null;
}

async function downloadChecked(dest: Destination, folder: string, o: BackupObject, path: string): Promise<void> {
  const s = await dest.getStream(`${folder}/${o.name}`);
  if (!s) throw new RefusedError(`destination ${dest.name}: object ${o.name} is missing`, 'backup.object-missing');
  const h = createHash('sha256');
  let bytes = 0;
  mkdirSync(dirname(path), { recursive: true });
  await pipeline(
    s,
    new Transform({
      transform(c: Buffer, _e, cb) {
        h.update(c);
        bytes += c.length;
        cb(null, c);
      },
    }),
    createWriteStream(path, { mode: 0o600 }),
  );
  const problem = objectProblem(dest.name, o, { sha256: h.digest('hex'), bytes });
  if (problem) throw new RefusedError(problem, 'backup.object-damaged');
}

/** Where an object's plaintext goes inside `root`. */
function plainPath(root: string, o: BackupObject): string {
  return join(root, o.encrypted ? o.name.replace(/\.age$/, '') : o.name);
}

async function materializeFrom(dest: Destination, m: BackupManifest, dir: string, identity: string | null, created: string[]): Promise<MaterializedBackup> {
  const folder = backupFolder(m.environment, m.id);
  const staging = join(dir, `.download-${m.id}`);
  created.push(staging);
  mkdirSync(staging, { recursive: true });
  // 1. Every object downloaded and checked before anything is decrypted.
  for (const o of m.objects) await downloadChecked(dest, folder, o, join(staging, o.name));
  // 2. Decrypt (or move) into place.
  for (const o of m.objects) {
    const out = plainPath(dir, o);
    mkdirSync(dirname(out), { recursive: true });
    created.push(out);
    if (o.encrypted) {
      const plain = await decryptStream(createReadStream(join(staging, o.name)), identity!, `object ${o.name}`);
      await pipeline(plain, createWriteStream(out, { mode: 0o600 }));
    } else {
      await pipeline(createReadStream(join(staging, o.name)), createWriteStream(out, { mode: 0o600 }));
    }
  }
  rmSync(staging, { recursive: true, force: true });
  const dumpPath = m.format === 'custom' ? join(dir, 'dump.pgcustom') : join(dir, 'dump.d');
  const g = m.objects.find((o) => o.name === globalsObjectName(o.encrypted));
  const p = m.objects.find((o) => o.name === dbPropertiesObjectName(o.encrypted));
  return { manifest: m, dumpPath, ...(g ? { globalsPath: plainPath(dir, g) } : {}), ...(p ? { propertiesPath: plainPath(dir, p) } : {}) };
}

/**
 * Proves the identity opens this backup before anything is downloaded in bulk or written: reads
 * only the age header of the backup's smallest encrypted object and unwraps its file key (a
 * recipient stanza must match this identity and the header MAC must verify). A wrong key is a
 * one-line UsageError. A copy that is missing, unreadable or damaged is not a key problem: it is
 * skipped for the next destination, then for the next-smallest object, so whichever object is
 * gone (on whichever destination, listed in whichever order) the caller still gets to name it.
 */
export async function checkIdentityFirst(dests: Destination[], m: BackupManifest, identity: string): Promise<void> {
  const enc = m.objects.filter((o) => o.encrypted).sort((a, b) => a.bytes - b.bytes || a.name.localeCompare(b.name));
  const folder = backupFolder(m.environment, m.id);
  for (const o of enc) {
    for (const d of dests) {
      let src: Awaited<ReturnType<Destination['getStream']>> = null;
      try {
        src = await d.getStream(`${folder}/${o.name}`);
      } catch {
        continue;
      }
      if (!src) continue;
      // A late error of an abandoned copy (a reset connection) must not become an uncaught one.
      src.on('error', () => {});
      try {
        const plain = await decryptStream(src, identity, `backup ${m.id}`);
        plain.on('error', () => {});
        plain.destroy();
        return;
      } catch (err) {
        if (err instanceof UsageError) throw err;
        // A damaged header on this copy: the full download will find and name it; try another copy's header.
      } finally {
        src.destroy();
      }
    }
  }
}

/** checkIdentityFirst over the configured destinations the manifest names (for verify). */
export async function checkBackupIdentity(ctx: Context, m: BackupManifest): Promise<void> {
  if (!m.objects.some((o) => o.encrypted)) return;
  const identity = requireIdentity(ctx.loaded);
  const all = openDestinations(ctx.loaded);
  try {
    await checkIdentityFirst(manifestDestinations(all, m), m, identity);
  } finally {
    await closeDestinations(all);
  }
}

export async function materializeBackup(ctx: Context, idOrLatest: string, dir: string, opts: { env?: string } = {}): Promise<MaterializedBackup> {
  const m = await getBackup(ctx, idOrLatest, opts);
  const identity = m.objects.some((o) => o.encrypted) ? requireIdentity(ctx.loaded) : null;
  const all = openDestinations(ctx.loaded);
  try {
    const dests = manifestDestinations(all, m);
    if (dests.length === 0) throw new RefusedError(`backup ${m.id}: none of its destinations (${m.destinations.join(', ')}) is configured any more`, 'backup.no-destination');
    // The key first: a wrong one fails after a few hundred bytes, not after the whole backup.
    if (identity) await checkIdentityFirst(dests, m, identity);
    const errors: ProdguardError[] = [];
    for (const d of dests) {
      const created: string[] = [];
      try {
        return await materializeFrom(d, m, dir, identity, created);
      } catch (err) {
        for (const p of created.reverse()) rmSync(p, { recursive: true, force: true });
        if (err instanceof UsageError) throw err; // wrong key: no other copy will help
        errors.push(err instanceof ProdguardError ? err : new RefusedError(`destination ${d.name}: ${describeError(err)}`, 'backup.destination-failed'));
      }
    }
    if (errors.length === 1) throw errors[0];
    throw new RefusedError(`backup ${m.id}: no good copy — ${errors.map((e) => e.message).join('; ')}`, 'backup.no-good-copy');
  } finally {
    await closeDestinations(all);
  }
}
