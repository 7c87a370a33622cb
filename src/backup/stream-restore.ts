/**
 * Restoring a backup straight from the decrypting reader: no plaintext file of table data is ever
 * written (issue #15 speed, #20 "no plaintext on disk, not even for a second").
 *
 * pg_restore reads a directory dump's data only from regular files (15.x refuses named pipes), so
 * a directory-format restore runs pg_restore for what needs no data file and loads the data
 * itself, exactly as pg_restore would:
 *
 * 1. the small objects (toc.dat, blobs.toc — schema and the list of large objects, no row data)
 *    are fetched, checked and decrypted first, into a 0700 directory;
 * 2. `pg_restore --section=pre-data` (tables, types, functions; large objects created empty);
 * 3. data, over N connections at once, largest first: every TABLE DATA object is streamed from
 *    its destination through sha256, the age decrypter and gunzip into the very `COPY … FROM
 *    stdin` statement pg_restore would run (read from the dump's TOC), with pg_restore's session
 *    settings (gunzip and COPY run in a worker thread per connection, copy-worker.ts, which
 *    keeps the inflated bytes off the main thread's heap); the server's COPY row count is the
 *    table's exact row count. Large objects are
 *    written with lo_put; other data entries (sequence values) by `pg_restore --section=data`;
 * 4. `pg_restore --section=post-data -j N` (indexes, constraints, triggers, policies, ACLs).
 *
 * Each object is read once and nothing waits for the whole download. Custom format: one object,
 * decrypted into pg_restore's stdin (read sequentially, one job).
 *
 * Integrity: age authenticates every 64 KiB chunk and the end of the stream, so a flipped or
 * missing byte stops the stream before its plaintext reaches the database; each object's sha256
 * and size are compared with the manifest when it ends (a whole object swapped for another one
 * encrypted to the same key), and any problem fails the restore, whose caller removes what it
 * created. With `verifyFirst` every object's sha256 is checked before anything is restored (for
 * restores that replace existing data). A data object the TOC does not account for, or a TOC
 * entry without its object, fails the restore.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Context } from '../context.js';
import { ProdguardError, RefusedError } from '../errors.js';
import { openDestinations, closeDestinations, type Destination } from './destinations/index.js';
import { decryptStream, requireIdentity } from './encryption.js';
import { getBackup } from './catalog.js';
import { checkIdentityFirst, hashObject, manifestDestinations, objectProblem } from './materialize.js';
import { dbPropertiesObjectName } from './db-properties.js';
import { backupFolder, globalsObjectName, type BackupManifest, type BackupObject } from './manifest.js';
import { startRestoreDump, type RestoreDumpOptions } from './restore-dump.js';
import { pgBin } from '../pg/binaries.js';
import { connect, quoteLiteral, withClient, type Client as PgClient } from '../pg/client.js';
import { CopySession } from './copy-worker.js';
import { maskSecrets } from '../security/mask.js';
import { LIST_TABLES_SQL } from './sql/row-counts.js';
import { toolEnv } from '../pg/tool-env.js';

export interface StreamRestoreOptions extends RestoreDumpOptions {
  /** Test hook: awaited before each data object is streamed into the database. */
  onFeed?: (object: string) => Promise<void>;
}

export interface BackupStream {
  manifest: BackupManifest;
  /** database.json (roles, settings, database ACL and comment), when the backup has it. */
  propertiesText: string | null;
  /** globals.sql (pg_dumpall --roles-only), when the backup has it. */
  globalsText: string | null;
  /** Directory format: a directory with toc.dat only, for `pg_restore -l` (schema, no row data). */
  tocDir: string | null;
  /**
   * Restores the dump into `targetUrl`, streaming. Call once. Directory format: rows stored per
   * table ("schema.table", the server's COPY counts); custom format: null.
   */
  restore(targetUrl: string, opts?: StreamRestoreOptions): Promise<Record<string, number> | null>;
  close(): Promise<void>;
}

/** Objects that carry no table rows: fetched whole (checked before use) instead of streamed. */
function isSmall(m: BackupManifest, o: BackupObject): boolean {
  const plain = o.encrypted ? o.name.replace(/\.age$/, '') : o.name;
  if (m.format === 'custom') return plain !== 'dump.pgcustom';
  return !/^dump\.d\/(\d+|blob_\d+)\.dat(\.gz|\.lz4|\.zst)?$/.test(plain);
}

const plainName = (o: BackupObject) => (o.encrypted ? o.name.replace(/\.age$/, '') : o.name);

/**
 * Fetches the manifest and the small objects, checks the key, picks a copy of every object (the
 * first destination holding it at the manifest's size), and returns a handle that restores.
 * Nothing is written to any database here.
 */
export async function openBackupStream(ctx: Context, idOrLatest: string, dir: string, opts: { env?: string; verifyFirst?: boolean } = {}): Promise<BackupStream> {
  const m = await getBackup(ctx, idOrLatest, opts);
  const identity = m.objects.some((o) => o.encrypted) ? requireIdentity(ctx.loaded) : null;
  const all = openDestinations(ctx.loaded);
  const folder = backupFolder(m.environment, m.id);
  try {
    const dests = manifestDestinations(all, m);
    if (dests.length === 0) throw new RefusedError(`backup ${m.id}: none of its destinations (${m.destinations.join(', ')}) is configured any more`, 'backup.no-destination');
    // The key first: a wrong one fails after a few hundred bytes.
    if (identity) await checkIdentityFirst(dests, m, identity);

    // Where each object is read from: the first destination listing it at the right size.
    const listed = await Promise.all(dests.map((d) => d.list(folder + '/').then((l) => new Map(l.map((o) => [o.key.slice(folder.length + 1), o.bytes]))).catch(() => new Map<string, number>())));
    const candidates = (o: BackupObject) => dests.filter((_d, i) => listed[i].get(o.name) === o.bytes);
    const source = new Map<string, Destination[]>();
    const problems: string[] = [];
    for (const o of m.objects) {
      const c = candidates(o);
      if (c.length === 0) problems.push(`object ${o.name} is missing or has the wrong size on ${dests.map((d) => d.name).join(', ')}`);
      source.set(o.name, c);
    }
    if (opts.verifyFirst) {
      // Before replacing anything: every object's sha256, a bad copy skipped for the next one.
      for (const o of m.objects) {
        const good: Destination[] = [];
        for (const d of source.get(o.name)!) {
          const problem = objectProblem(d.name, o, await hashObject(d, `${folder}/${o.name}`).catch(() => null));
          if (problem) problems.push(problem);
          else good.push(d);
        }
        if (good.length === 0 && source.get(o.name)!.length) problems.push(`object ${o.name}: no good copy`);
        source.set(o.name, good);
      }
    }
    const unusable = m.objects.filter((o) => source.get(o.name)!.length === 0);
    if (unusable.length) throw new RefusedError(`backup ${m.id}: no good copy of ${unusable.map((o) => o.name).join(', ')} — ${problems.join('; ')}`, 'backup.no-good-copy');

    /** One object's plaintext as a stream, hashed on the way; `done` rejects on a sha256/size mismatch. */
    const open = async (o: BackupObject, d: Destination): Promise<{ plain: Readable; check: () => void }> => {
      const s = await d.getStream(`${folder}/${o.name}`);
      if (!s) throw new RefusedError(`destination ${d.name}: object ${o.name} is missing`, 'backup.object-missing');
      const h = createHash('sha256');
      let bytes = 0;
      const hashing = new Transform({
        highWaterMark: 1 << 20,
        transform(c: Buffer, _e, cb) {
          h.update(c);
          bytes += c.length;
          cb(null, c);
        },
      });
      s.on('error', (e) => hashing.destroy(e));
      s.pipe(hashing);
      const plain = o.encrypted ? await decryptStream(hashing, identity!, `object ${o.name}`) : hashing;
      return {
        plain,
        check: () => {
          const problem = objectProblem(d.name, o, { sha256: h.digest('hex'), bytes });
          if (problem) throw new RefusedError(`${problem}; the restore was abandoned`, 'backup.object-damaged');
        },
      };
    };

    /** A small object, whole, checked before it is used; the next copy when one is bad. */
    const fetchSmall = async (o: BackupObject): Promise<Buffer> => {
      let last: unknown = null;
      for (const d of source.get(o.name)!) {
        try {
          const { plain, check } = await open(o, d);
          const parts: Buffer[] = [];
          for await (const c of plain) parts.push(c as Buffer);
          check();
          return Buffer.concat(parts);
        } catch (err) {
          if ((err as ProdguardError).code === 'backup.wrong-identity') throw err;
          last = err;
        }
      }
      throw last instanceof ProdguardError ? last : new RefusedError(`object ${o.name}: ${(last as Error)?.message ?? 'unreadable'}`, 'backup.object-damaged');
    };

    const small = new Map<string, Buffer>();
    for (const o of m.objects) if (isSmall(m, o)) small.set(plainName(o), await fetchSmall(o));
    const text = (name: string) => small.get(name)?.toString('utf8') ?? null;
    const propertiesText = text(dbPropertiesObjectName(false));
    const globalsText = text(globalsObjectName(false));

    let tocDir: string | null = null;
    if (m.format === 'directory') {
      // Only toc.dat (schema, no rows), for `pg_restore -l` before the restore.
      tocDir = join(dir, 'toc');
      mkdirSync(tocDir, { recursive: true, mode: 0o700 });
      const toc = small.get('dump.d/toc.dat');
      if (!toc) throw new RefusedError(`backup ${m.id}: its directory dump has no toc.dat`, 'backup.object-missing');
      writeFileSync(join(tocDir, 'toc.dat'), toc, { mode: 0o600 });
    }

    let used = false;
    return {
      manifest: m,
      propertiesText,
      globalsText,
      tocDir,
      async restore(targetUrl, ropts = {}) {
        if (used) throw new Error('BackupStream.restore called twice');
        used = true;
        if (m.format === 'custom') {
          const o = m.objects.find((x) => !isSmall(m, x))!;
          const { plain, check } = await open(o, source.get(o.name)![0]);
          let feedError: unknown = null;
          const guard = new Transform({ transform: (c, _e, cb) => cb(null, c) });
          plain.on('error', (e) => {
            feedError ??= e;
            guard.destroy(e);
          });
          const run = startRestoreDump(null, targetUrl, { ...ropts, stdin: plain.pipe(guard) });
          try {
            await run.finished;
          } catch (err) {
            throw feedError ? damaged(o, source.get(o.name)![0], feedError) : err;
          }
          if (feedError) throw damaged(o, source.get(o.name)![0], feedError);
          check();
          return null;
        }
        const dumpDir = join(dir, 'dump.d');
        mkdirSync(dumpDir, { recursive: true, mode: 0o700 });
        for (const [name, buf] of small) if (name.startsWith('dump.d/')) writeFileSync(join(dir, name), buf, { mode: 0o600 });
        const dataObjects = new Map<string, BackupObject>();
        for (const o of m.objects) if (!isSmall(m, o)) dataObjects.set(plainName(o).slice('dump.d/'.length), o);
        return restoreDirectory(dumpDir, targetUrl, dataObjects, small.get('dump.d/blobs.toc')?.toString('utf8') ?? null, ropts, async (o, sink, inflate) => {
          const d = source.get(o.name)![0];
          const { plain, check } = await open(o, d);
          const body = inflate && isGzipped(o) ? plain.pipe(gunzipOf(plain)) : plain;
          try {
            await pipeline(body, sink);
          } catch (err) {
            throw damaged(o, d, err);
          }
          check();
        });
      },
      close: () => closeDestinations(all),
    };
  } catch (err) {
    await closeDestinations(all);
    throw err;
  }
}

/** A streaming failure as one line naming the object and the copy (a database error stays as it is). */
function damaged(o: BackupObject, d: Destination, err: unknown): ProdguardError {
  if (err instanceof ProdguardError) return err;
  const e = err as { message?: string; severity?: string };
  if (e?.severity) return new ProdguardError(`restoring object ${o.name}: ${maskSecrets(e.message ?? String(err))}`, { code: 'restore.copy' });
  return new RefusedError(`destination ${d.name}: object ${o.name} cannot be read back (${maskSecrets(e?.message ?? String(err))}); the restore was abandoned`, 'backup.object-damaged');
}

/** A gunzip whose input errors (decryption, a damaged copy) end it too. */
function gunzipOf(input: Readable): Transform {
  const g = createGunzip({ chunkSize: 1 << 18 });
  input.on('error', (e) => g.destroy(e));
  return g;
}

/** Streams one data object's plaintext into `sink`, inflated first when `inflate` (else as stored); rejects on damage. */
type Feed = (o: BackupObject, sink: Writable, inflate: boolean) => Promise<void>;

const isGzipped = (o: BackupObject) => /\.gz$/.test(plainName(o));

interface TocEntry {
  id: string;
  line: string;
}

function pgRestoreText(args: string[], env: Record<string, string>): string {
  const r = spawnSync(pgBin('pg_restore'), args, { encoding: 'utf8', maxBuffer: 1 << 30, env: toolEnv(env) });
  if (r.status !== 0) throw new ProdguardError(`pg_restore failed: ${maskSecrets((r.stderr || r.error?.message || `exit code ${r.status}`).trim().split('\n').pop() ?? '')}`, { code: 'restore.pg-restore' });
  return r.stdout;
}

/** The four steps of a directory restore (see the top of this file); rows per table from COPY. */
async function restoreDirectory(dumpDir: string, targetUrl: string, data: Map<string, BackupObject>, blobsToc: string | null, ropts: StreamRestoreOptions, feed: Feed): Promise<Record<string, number>> {
  const listing = pgRestoreText(['-l', dumpDir], {});
  const encoding = /^;\s+Encoding: (\S+)/m.exec(listing)?.[1] ?? 'UTF8';
  const entries: TocEntry[] = [];
  for (const line of listing.split('\n')) {
    const mm = /^(\d+); \d+ \d+ (.*)$/.exec(line);
    if (mm) entries.push({ id: mm[1], line });
  }
  const tableData = entries.filter((e) => / TABLE DATA /.test(e.line));
  const blobs = entries.filter((e) => /^\d+; \d+ \d+ BLOBS /.test(e.line));
  // Every data object must belong to a TOC entry, and every TABLE DATA entry must have its object.
  const fileOf = (id: string) => [...data.keys()].find((f) => f === `${id}.dat` || f.startsWith(`${id}.dat.`));
  const blobFiles = new Map<string, string>(); // oid → object file name
  for (const l of (blobsToc ?? '').split('\n')) {
    const mm = /^(\d+) (blob_\d+\.dat)$/.exec(l.trim());
    if (!mm) continue;
    const f = [...data.keys()].find((k) => k === mm[2] || k.startsWith(`${mm[2]}.`));
    if (!f) throw new RefusedError(`the backup lacks the object of large object ${mm[1]} (${mm[2]})`, 'backup.object-missing');
    blobFiles.set(mm[1], f);
  }
  const accounted = new Set<string>([...blobFiles.values()]);
  for (const e of tableData) {
    const f = fileOf(e.id);
    if (!f) throw new RefusedError(`the backup lacks the data object of TOC entry ${e.line}`, 'backup.object-missing');
    accounted.add(f);
  }
  const stray = [...data.keys()].filter((f) => !accounted.has(f));
  if (stray.length) throw new RefusedError(`data object(s) ${stray.join(', ')} belong to no TOC entry of this backup`, 'backup.object-stray');

  // The COPY statement of each TABLE DATA entry, as pg_restore would run it: printed by pg_restore
  // itself from placeholder data files holding only a marker (no data).
  const copyStmt = new Map<string, string>();
  if (tableData.length) {
    for (const e of tableData) writeFileSync(join(dumpDir, `${e.id}.dat`), `@@prodguard-entry ${e.id}@@\n`, { mode: 0o600 });
    const listFile = join(dumpDir, '..', 'copy.list');
    writeFileSync(listFile, tableData.map((e) => e.line).join('\n') + '\n', { mode: 0o600 });
    const text = pgRestoreText(['-L', listFile, '-f', '-', dumpDir], {});
    for (const e of tableData) rmSync(join(dumpDir, `${e.id}.dat`), { force: true });
    let last: string | null = null;
    for (const l of text.split('\n')) {
      if (/^COPY .+ FROM stdin;$/.test(l)) last = l.slice(0, -1);
      const mk = /^@@prodguard-entry (\d+)@@$/.exec(l);
      if (mk && last) {
        copyStmt.set(mk[1], last);
        last = null;
      }
    }
    const missing = tableData.filter((e) => !copyStmt.has(e.id));
    if (missing.length) throw new ProdguardError(`cannot read the COPY statement of ${missing.map((e) => e.line).join('; ')} from the dump`, { code: 'restore.toc' });
  }
  const common = ropts.noAcl ? ['--no-acl'] : [];
  const progress = ropts.onProgress;

  // 2. pre-data
  await startRestoreDump(dumpDir, targetUrl, { ...ropts, jobs: 1, extraArgs: [...common, '--section=pre-data'] }).finished;

  // 3. data: COPY and large objects over N sessions, largest objects first.
  const tables = await withClient(targetUrl, async (c) => (await c.query<{ schema: string; table: string }>(LIST_TABLES_SQL)).rows);
  const byText = new Map(tables.map((t) => [`${t.schema} ${t.table}`, `${t.schema}.${t.table}`]));
  type Job = { kind: 'copy'; entry: TocEntry; file: string } | { kind: 'blob'; oid: string; file: string };
  const jobs: Job[] = [...tableData.map((e) => ({ kind: 'copy' as const, entry: e, file: fileOf(e.id)! })), ...[...blobFiles].map(([oid, file]) => ({ kind: 'blob' as const, oid, file }))];
  jobs.sort((a, b) => data.get(b.file)!.bytes - data.get(a.file)!.bytes);
  const rows: Record<string, number> = {};
  let next = 0;
  let failed: unknown = null;
  const worker = async () => {
    // Table data goes through a COPY worker (copy-worker.ts: inflated and sent off the main
    // thread); large objects through a connection of this thread, opened only when there are any.
    let copier: CopySession | null = null;
    let c: PgClient | null = null;
    try {
      for (let i = next++; i < jobs.length && failed === null; i = next++) {
        const j = jobs[i];
        const o = data.get(j.file)!;
        await ropts.onFeed?.(o.name);
        if (j.kind === 'copy') {
          progress?.(`restoring data of ${j.entry.line.replace(/^\d+; \d+ \d+ TABLE DATA /, '')}`);
          copier ??= await CopySession.open(targetUrl, sessionSettings(encoding));
          const { sink, rows: copied } = copier.copy(copyStmt.get(j.entry.id)!, isGzipped(o));
          await feed(o, sink, false);
          const key = byText.get(/ TABLE DATA (.*) \S+$/.exec(j.entry.line)?.[1] ?? '');
          if (key) rows[key] = (rows[key] ?? 0) + copied();
        } else {
          if (!c) {
            c = await connect(targetUrl, { applicationName: 'prodguard restore' });
            await c.query(sessionSettings(encoding));
          }
          const lo = c;
          await lo.query('BEGIN');
          let offset = 0;
          const sink = new Writable({
            highWaterMark: 1 << 20,
            write(chunk: Buffer, _e, cb) {
              lo.query('SELECT pg_catalog.lo_put($1::oid, $2::bigint, $3::bytea)', [j.oid, offset, chunk]).then(() => cb(), cb);
              offset += chunk.length;
            },
          });
          await feed(o, sink, true);
          await lo.query('COMMIT');
        }
      }
    } catch (err) {
      failed ??= err;
    } finally {
      await copier?.close().catch(() => {});
      await c?.end().catch(() => {});
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(ropts.jobs ?? 1, jobs.length || 1)) }, worker));
  if (failed !== null) throw failed;
  // Data entries without a file (sequence values): pg_restore itself.
  const others = entries.filter((e) => !tableData.includes(e) && !blobs.includes(e));
  if (others.length) {
    const listFile = join(dumpDir, '..', 'data.list');
    writeFileSync(listFile, others.map((e) => e.line).join('\n') + '\n', { mode: 0o600 });
    await startRestoreDump(dumpDir, targetUrl, { ...ropts, listFile, jobs: 1, extraArgs: [...common, '--section=data'] }).finished;
  }

  // 4. post-data, in parallel.
  await startRestoreDump(dumpDir, targetUrl, { ...ropts, extraArgs: [...common, '--section=post-data'] }).finished;
  return rows;
}

/** The session pg_restore sets up before loading data. */
function sessionSettings(encoding: string): string {
  return [
    'SET statement_timeout = 0',
    'SET lock_timeout = 0',
    'SET idle_in_transaction_session_timeout = 0',
    `SET client_encoding = ${quoteLiteral(encoding)}`,
    'SET standard_conforming_strings = on',
    "SELECT pg_catalog.set_config('search_path', '', false)",
    'SET check_function_bodies = false',
    'SET xmloption = content',
    'SET client_min_messages = warning',
    'SET row_security = off',
  ].join('; ');
}
