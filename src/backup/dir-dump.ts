/**
 * Directory-format (parallel) backups without a second pass and without a second scan:
 *
 * - pg_dump -Fd -j N writes one file per table into a private 0700 directory; every file that
 *   pg_dump has finished (no pg_dump process holds it open any more, read from /proc) is
 *   encrypted and streamed to the destinations WHILE the dump goes on, then deleted, so at most
 *   the files being written rest unencrypted, briefly (toc.dat, written last, goes last);
 * - row counts come from the data itself: each data file is the table's COPY text, one line per
 *   row ending with the `\.` terminator, so counting lines while the file is uploaded gives the
 *   exact count in pg_dump's own snapshot — no count(*) scan competing with the dump. Files map
 *   to tables through `pg_restore -l`.
 */
import { readdirSync, readlinkSync, readFileSync, rmSync, createReadStream } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { runPgTool } from '../pg/run-tool.js';
import type { DumpProcess } from './pg-dump.js';

/** Counts COPY rows in a data file's plaintext (terminator and trailing blank lines excluded). */
export class CopyRowCounter extends Transform {
  newlines = 0;
  private tail = '';
  _transform(chunk: Buffer, _e: BufferEncoding, cb: () => void) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) this.newlines++;
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
function processTree(pid: number): number[] {
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
 * Uploads each finished file of a running pg_dump -Fd as soon as it is complete (and deletes it),
 * counting rows of data files on the way; after pg_dump exits, the rest (toc.dat last).
 */
export async function uploadWhileDumping(
  dump: DumpProcess,
  outDir: string,
  upload: (file: string, body: Readable) => Promise<void>,
  opts: { pollMs?: number } = {},
): Promise<DirUploadResult> {
  const rowsByFile = new Map<string, number | null>();
  const done = new Set<string>();
  let exited = false;
  let failure: unknown = null;
  dump.finished.then(() => (exited = true), (err) => { exited = true; failure = err; });

  const send = async (file: string) => {
    const path = join(outDir, file);
    const isData = /^\d+\.dat(\.gz)?$/.test(file);
    const source = createReadStream(path);
    if (isData) {
      // Tee: the stored bytes go to upload unchanged; a decompressed copy is only counted.
      const counter = new CopyRowCounter();
      const tee = new PassThrough();
      source.pipe(tee);
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
    rmSync(path, { force: true });
    done.add(file);
  };

  const pid = dump.child.pid;
  while (!exited) {
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
    if (exited || pid === undefined) break;
    let names: string[];
    try {
      names = readdirSync(outDir);
    } catch {
      continue; // pg_dump creates the directory itself
    }
    const open = openFiles(processTree(pid), outDir);
    if (open === null) continue; // no /proc: everything is uploaded after the dump
    for (const f of names.sort()) {
      if (done.has(f) || f === 'toc.dat' || open.has(f) || exited) continue;
      // Re-check just before reading: a worker may have opened it since the scan.
      const again = openFiles(processTree(pid), outDir);
      if (again === null || again.has(f)) continue;
      await send(f);
    }
  }
  await dump.finished.catch(() => {});
  if (failure) throw failure;
  const rest = readdirSync(outDir).filter((f) => !done.has(f)).sort((a, b) => (a === 'toc.dat' ? 1 : b === 'toc.dat' ? -1 : a.localeCompare(b)));
  for (const f of rest) {
    // toc.dat must stay until pg_restore -l has read it (see tableOfFiles); upload a copy now.
    if (f === 'toc.dat') {
      await upload(f, createReadStream(join(outDir, f)));
      done.add(f);
    } else await send(f);
  }
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

