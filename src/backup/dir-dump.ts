/**
 * Directory-format (parallel) backups without a second pass and without a second scan:
 *
 * - pg_dump -Fd -j N writes one file per table into a private 0700 directory; each file is read
 *   while pg_dump writes it ("tail -f"; finished = no pg_dump process holds it open any more,
 *   read from /proc), encrypted and streamed to the destinations, then deleted, so at most the
 *   files being written rest unencrypted, briefly (toc.dat, written last, goes last);
 * - row counts come from the data itself: each data file is the table's COPY text, one line per
 *   row ending with the `\.` terminator, so counting lines while the file is uploaded gives the
 *   exact count in pg_dump's own snapshot — no count(*) scan competing with the dump. Files map
 *   to tables through `pg_restore -l`;
 * - compression: pg_dump writes the data files uncompressed (`--compress=0`) and we gzip them
 *   here, on the way to the encrypter, counting rows on the plaintext. The CPU spent compressing
 *   is the same as pg_dump's own (zlib, same level, one stream per file), but counting no longer
 *   needs a second decompression of everything (which made a backup ~1.5× bare pg_dump). The
 *   stored files are named `N.dat.gz` exactly as pg_dump would name them; pg_restore finds a
 *   data file by that suffix whatever level toc.dat records.
 */
import { readdirSync, readlinkSync, readFileSync, rmSync, createReadStream } from 'node:fs';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { runPgTool } from '../pg/run-tool.js';
import type { DumpProcess } from './pg-dump.js';

/** Counts COPY rows in a data file's plaintext (terminator and trailing blank lines excluded). */
export class CopyRowCounter extends Transform {
  newlines = 0;
  private tail = '';
  /** passThrough: forward every chunk (count on the way); otherwise a counting sink. */
  constructor(private readonly passThrough = false) {
    super({ highWaterMark: 1 << 20 });
  }
  _transform(chunk: Buffer, _e: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) this.newlines++;
    this.tail = (this.tail + chunk.subarray(Math.max(0, chunk.length - 8)).toString('latin1')).slice(-8);
    if (this.passThrough) cb(null, chunk);
    else cb();
  }
  /** Rows, or null when the data does not end the way pg_dump ends COPY data. */
  get rows(): number | null {
    if (this.tail.endsWith('\\.\n\n\n')) return this.newlines - 3;
    if (this.tail.endsWith('\\.\n')) return this.newlines - 1;
    return null;
  }
}

/** PIDs of a process and its descendants (pg_dump's parallel workers are its children). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const kids = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').trim();
      if (kids) out.push(...kids.split(/\s+/).map(Number));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Files under `dir` that any of the processes hold open; null when /proc cannot tell. */
function openFiles(pids: number[], dir: string): Set<string> | null {
  const open = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      if (pid === pids[0]) return null;
      continue;
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (target.startsWith(dir + '/')) open.add(target.slice(dir.length + 1));
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return open;
}

export interface DirUploadResult {
  /** Rows per data file (dumpId.dat[.gz] → rows), null where the content was not recognisable. */
  rowsByFile: Map<string, number | null>;
}

/**
 * Reads a file while pg_dump is still writing it ("tail -f"), ending once `closed()` says no
 * pg_dump process holds it any more and everything up to then has been read.
 */
function followFile(path: string, closed: () => boolean): Readable {
  let fh: FileHandle | null = null;
  let pos = 0;
  let spare: Buffer | null = null;
  return new Readable({
    highWaterMark: 1 << 20,
    async read() {
      try {
        fh ??= await openFile(path, 'r');
        for (;;) {
          // Ask before reading: if it was closed before this read, the read sees all of it.
          const done = closed();
          spare ??= Buffer.allocUnsafe(1 << 20);
          const { bytesRead } = await fh.read(spare, 0, spare.length, pos);
          if (bytesRead > 0) {
            pos += bytesRead;
            // A short read (catching up with the writer) is copied out and the buffer kept: no
            // megabyte allocated per few kilobytes read.
            if (bytesRead < spare.length >> 2) this.push(Buffer.from(spare.subarray(0, bytesRead)));
            else {
              this.push(spare.subarray(0, bytesRead));
              spare = null;
            }
            return;
          }
          if (done) {
            await fh.close();
            fh = null;
            this.push(null);
            return;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      } catch (err) {
        this.destroy(err as Error);
      }
    },
    destroy(err, cb) {
      const f = fh;
      fh = null;
      if (f) f.close().then(() => cb(err), () => cb(err));
      else cb(err);
    },
  });
}

/**
 * Streams every file of a running pg_dump -Fd to `upload` WHILE pg_dump writes it (encryption and
 * the destinations keep pace with the dump instead of starting after it), counting rows of data
 * files on the way, and deletes each file once stored. toc.dat, written last, goes last.
 */
export async function uploadWhileDumping(
  dump: DumpProcess,
  outDir: string,
  upload: (file: string, body: Readable) => Promise<void>,
  opts: { pollMs?: number; /** gzip level for files pg_dump wrote uncompressed (--compress=0); 0: store as written. */ compress?: number } = {},
): Promise<DirUploadResult> {
  const rowsByFile = new Map<string, number | null>();
  const started = new Map<string, Promise<void>>();
  /** Scan generation in which each file was first seen, and the newest open-file scan. */
  const firstSeen = new Map<string, number>();
  let generation = 0;
  let openNow: Set<string> | null = new Set();
  let exited = false;
  let failure: unknown = null;
  dump.finished.then(() => (exited = true), (err) => { exited = true; failure = err; });
  const closed = (file: string) => exited || (openNow !== null && generation > (firstSeen.get(file) ?? Infinity) && !openNow.has(file));

  const send = async (file: string) => {
    const path = join(outDir, file);
    const isData = /^\d+\.dat(\.gz)?$/.test(file);
    const source = file === 'toc.dat' ? createReadStream(path) : followFile(path, () => closed(file));
    if (opts.compress && /^(\d+|blob_\d+)\.dat$/.test(file)) {
      // Plain COPY text (or large-object bytes) from pg_dump: count rows and gzip on the way.
      const counter = new CopyRowCounter(true);
      const gz = createGzip({ level: opts.compress, chunkSize: 1 << 18 });
      source.on('error', (e: Error) => counter.destroy(e));
      counter.on('error', (e: Error) => gz.destroy(e));
      source.pipe(counter).pipe(gz);
      await upload(`${file}.gz`, gz);
      if (isData) rowsByFile.set(file, counter.rows);
    } else if (isData) {
      // Tee: the stored bytes go to upload unchanged; a decompressed copy is only counted.
      const counter = new CopyRowCounter();
      const tee = new PassThrough();
      source.pipe(tee);
      source.on('error', (e: Error) => tee.destroy(e));
      const count = new Promise<void>((resolve, reject) => {
        const plain = file.endsWith('.gz') ? source.pipe(createGunzip()) : source;
        plain.on('error', reject);
        plain.pipe(counter).on('finish', resolve).on('error', reject);
        counter.resume();
      });
      await Promise.all([upload(file, tee), count]);
      rowsByFile.set(file, counter.rows);
    } else {
      await upload(file, source);
    }
    if (file !== 'toc.dat') rmSync(path, { force: true });
  };
  const errors: unknown[] = [];
  const start = (f: string) => {
    const p = send(f).catch((e) => {
      errors.push(e);
    });
    started.set(f, p);
  };

  const pid = dump.child.pid;
  while (!exited && pid !== undefined && errors.length === 0) {
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 50));
    let names: string[];
    try {
      names = readdirSync(outDir);
    } catch {
      continue; // pg_dump creates the directory itself
    }
    for (const f of names) if (!firstSeen.has(f)) firstSeen.set(f, generation);
    openNow = openFiles(processTree(pid), outDir);
    generation++;
    if (openNow === null) continue; // no /proc: files go after the dump
    for (const f of names) if (f !== 'toc.dat' && !started.has(f)) start(f);
  }
  // A failed upload: the caller kills pg_dump (which ends the files being followed).
  if (errors.length) throw errors[0];
  await dump.finished.catch(() => {});
  exited = true;
  if (failure) {
    await Promise.allSettled(started.values());
    throw failure;
  }
  for (const f of readdirSync(outDir)) if (f !== 'toc.dat' && !started.has(f)) start(f);
  await Promise.all(started.values());
  if (errors.length) throw errors[0];
  // toc.dat stays on disk until pg_restore -l has read it (tableOfFiles); the caller's private dir goes after.
  if (readdirSync(outDir).includes('toc.dat')) await send('toc.dat');
  return { rowsByFile };
}

/** dumpId → "schema.table" for every TABLE DATA entry, matched against the known table list. */
export async function tableOfFiles(outDir: string, tables: Array<{ schema: string; table: string }>): Promise<Map<string, string>> {
  const res = await runPgTool('pg_restore', ['-l', outDir]);
  const byText = new Map(tables.map((t) => [`${t.schema} ${t.table}`, `${t.schema}.${t.table}`]));
  const out = new Map<string, string>();
  for (const line of res.stdout.split('\n')) {
    const m = /^(\d+); \d+ \d+ TABLE DATA (.*) \S+$/.exec(line);
    if (!m) continue;
    const key = byText.get(m[2]);
    if (key) out.set(m[1], key);
  }
  return out;
}

