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
 * - compression: pg_dump compresses each data file itself (`--compress`, zlib in C, in its N
 *   worker processes, exactly as a bare `pg_dump -Fd -j N` does), so Node encrypts and hashes only
 *   the compressed bytes. Rows are counted on a decompressed copy: inflating is several times
 *   cheaper than deflating, runs in the libuv threadpool (one stream per file, files in
 *   parallel) with large output chunks, and the count is a memchr-speed `indexOf` per row. This
 *   replaced "pg_dump writes plain files, Node gzips them" (Node's deflate plus re-reading every
 *   plaintext byte from the work dir cost more than pg_dump's own compression; it also left the
 *   whole plaintext of a table in the work dir while it was read).
 */
import { readdirSync, readlinkSync, readFileSync, rmSync, createReadStream } from 'node:fs';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { RowCountWorker } from './row-count-worker.js';
import { runPgTool } from '../pg/run-tool.js';
import type { DumpProcess } from './pg-dump.js';

/** Counts COPY rows in a data file's plaintext (terminator and trailing blank lines excluded). */
export class CopyRowCounter extends Transform {
  newlines = 0;
  private tail = '';
  constructor() {
    super({ highWaterMark: 1 << 20 });
  }
  _transform(chunk: Buffer, _e: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void) {
    let n = this.newlines;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
    this.newlines = n;
    this.tail = (this.tail + chunk.subarray(Math.max(0, chunk.length - 8)).toString('latin1')).slice(-8);
    cb();
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

export interface UploadOptions {
  pollMs?: number;
  /** Run while toc.dat (written last, still on disk) is being stored, e.g. `pg_restore -l`. */
  alongsideToc?: () => Promise<void>;
}

export interface DirUploadResult {
  /** Rows per data file (dumpId.dat[.gz] → rows), null where the content was not recognisable. */
  rowsByFile: Map<string, number | null>;
}

/**
 * Reads a file while pg_dump is still writing it ("tail -f"), ending once `closed()` says no
 * pg_dump process holds it any more and everything up to then has been read. While the writer is
 * ahead by less than a batch, it waits for more rather than reading a few kilobytes at a time:
 * every chunk costs a trip through the encrypter, the hash, the inflater and the destinations.
 */
function followFile(path: string, closed: () => boolean, exited: Promise<unknown>): Readable {
  const BATCH = 1 << 20;
  let fh: FileHandle | null = null;
  let pos = 0;
  return new Readable({
    highWaterMark: 2 << 20,
    async read() {
      try {
        fh ??= await openFile(path, 'r');
        for (;;) {
          // Ask before looking: if it was closed before this look, the read sees all of it.
          const done = closed();
          const available = (await fh.stat()).size - pos;
          if (available >= BATCH || (done && available > 0)) {
            const buf = Buffer.allocUnsafeSlow(Math.min(available, 4 * BATCH));
            const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
            pos += bytesRead;
            this.push(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
            return;
          }
          if (done) {
            await fh.close();
            fh = null;
            this.push(null);
            return;
          }
          // The writer's exit ends the wait at once: its files are complete then.
          await Promise.race([new Promise((r) => setTimeout(r, 25)), exited]);
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
  opts: UploadOptions = {},
): Promise<DirUploadResult> {
  const counter = new RowCountWorker();
  try {
    return await followDump(dump, outDir, upload, opts, counter);
  } finally {
    await counter.close();
  }
}

async function followDump(
  dump: DumpProcess,
  outDir: string,
  upload: (file: string, body: Readable) => Promise<void>,
  opts: UploadOptions,
  counter: RowCountWorker,
): Promise<DirUploadResult> {
  const rowsByFile = new Map<string, number | null>();
  const started = new Map<string, Promise<void>>();
  /** Scan generation in which each file was first seen, and the newest open-file scan. */
  const firstSeen = new Map<string, number>();
  let generation = 0;
  let openNow: Set<string> | null = new Set();
  let exited = false;
  let failure: unknown = null;
  const exitedP = dump.finished.then(() => (exited = true), (err) => { exited = true; failure = err; });
  const closed = (file: string) => exited || (openNow !== null && generation > (firstSeen.get(file) ?? Infinity) && !openNow.has(file));

  const send = async (file: string) => {
    const path = join(outDir, file);
    const isData = /^\d+\.dat(\.gz)?$/.test(file);
    const source = file === 'toc.dat' ? createReadStream(path) : followFile(path, () => closed(file), exitedP);
    if (isData) {
      // The stored bytes go to upload as pg_dump wrote them; a copy goes to the row-count worker
      // (inflated and counted there: row-count-worker.ts).
      const body = new PassThrough({ highWaterMark: 2 << 20 });
      const counting = counter.count(file.endsWith('.gz'));
      source.pipe(body);
      source.pipe(counting.sink);
      source.on('error', (e: Error) => {
        body.destroy(e);
        counting.sink.destroy(e);
      });
      const [, rows] = await Promise.all([upload(file, body), counting.rows]);
      rowsByFile.set(file, rows);
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
    // Woken early when pg_dump exits: its last files are then complete.
    await Promise.race([new Promise((r) => setTimeout(r, opts.pollMs ?? 50)), dump.finished.catch(() => {})]);
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
  const hasToc = readdirSync(outDir).includes('toc.dat');
  await Promise.all([hasToc ? send('toc.dat') : null, opts.alongsideToc?.()]);
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

