/**
 * Counts COPY rows of pg_dump data files in a worker thread: each file's bytes (gzip, as pg_dump
 * wrote them, or plain) are posted to the worker, inflated there (zlib in the threadpool, 1 MiB
 * pieces) and their newlines counted.
 *
 * The gzip CRC-32 is not recomputed here (it cost as much as inflating): the deflate stream must
 * end exactly before the 8-byte trailer and the trailer's length must match the inflated bytes;
 * pg_restore checks the CRC when the backup is verified or restored, and sha256 covers every
 * stored byte from here on.
 *
 * Why a worker: inflating a table allocates a fresh output buffer per MiB of plaintext. In the
 * backup process (pg client, config, destinations, … on the heap) that external-memory churn
 * triggers full garbage collections whose marking cost several times the inflating itself; a
 * worker's heap is nearly empty, so the same churn costs almost nothing there, and the main
 * thread is left to encrypt, hash and upload.
 *
 * Flow control: a sink's write completes once the worker is less than FLOW_LIMIT bytes behind,
 * so a slow worker slows the follower (as a slow destination does) instead of queueing the dump
 * in memory. The worker is an `eval` worker (plain JS below) so it runs the same from the
 * TypeScript sources and from dist/.
 */
import { Worker } from 'node:worker_threads';
import { Writable } from 'node:stream';

const FLOW_LIMIT = 8 << 20;

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const zlib = require('node:zlib');
const files = new Map();
function count(f, chunk) {
  let n = f.newlines;
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  f.newlines = n;
  f.tail = (f.tail + chunk.subarray(Math.max(0, chunk.length - 8)).toString('latin1')).slice(-8);
}
function rows(f) {
  if (f.tail.endsWith('\\\\.\\n\\n\\n')) return f.newlines - 3;
  if (f.tail.endsWith('\\\\.\\n')) return f.newlines - 1;
  return null;
}
function finish(id, msg) {
  if (!files.has(id)) return;
  files.delete(id);
  parentPort.postMessage(Object.assign({ id }, msg));
}
function inflater(id, f, raw) {
  const z = raw ? zlib.createInflateRaw({ chunkSize: 1 << 20 }) : zlib.createGunzip({ chunkSize: 1 << 20 });
  z.on('data', (c) => { f.plainBytes += c.length; count(f, c); });
  z.on('end', () => {
    if (!raw) return finish(id, { rows: rows(f) });
    // Raw deflate stops at the end of the first member: the rest must be exactly the 8-byte
    // trailer, whose length field must match what came out (else: damaged, or not one member).
    const t = f.trailer;
    if (f.inBytes !== 10 + z.bytesWritten + 8 || t.length !== 8) return finish(id, { error: 'gzip data is not one complete member (' + f.inBytes + ' bytes in, ' + z.bytesWritten + ' inflated from)' });
    if (t.readUInt32LE(4) !== f.plainBytes % 4294967296) return finish(id, { error: 'gzip length field does not match the data (damaged)' });
    finish(id, { rows: rows(f) });
  });
  z.on('error', (e) => finish(id, { error: String(e && e.message || e) }));
  return z;
}
parentPort.on('message', (m) => {
  if (m.op === 'open') {
    files.set(m.id, { newlines: 0, tail: '', gzip: m.gzip, inflater: null, inBytes: 0, plainBytes: 0, trailer: Buffer.alloc(0) });
    return;
  }
  const f = files.get(m.id);
  if (!f) return;
  if (m.op === 'data') {
    let chunk = Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength);
    const ack = () => parentPort.postMessage({ id: m.id, ack: m.chunk.byteLength });
    f.inBytes += chunk.length;
    if (!f.gzip) { count(f, chunk); return ack(); }
    if (!f.inflater) {
      // pg_dump's files start with a plain 10-byte gzip header (no name, no extra field): inflate
      // the raw deflate after it, skipping zlib's CRC-32 of every plaintext byte (as costly as the
      // inflating itself; pg_restore checks it at verify and restore). Anything else: gunzip.
      const plainHeader = chunk.length >= 10 && chunk[0] === 0x1f && chunk[1] === 0x8b && chunk[2] === 8 && chunk[3] === 0;
      f.inflater = inflater(m.id, f, plainHeader);
      f.raw = plainHeader;
      if (plainHeader) chunk = chunk.subarray(10);
    }
    if (f.raw) f.trailer = Buffer.concat([f.trailer, chunk.subarray(Math.max(0, chunk.length - 8))]).subarray(-8);
    f.inflater.write(chunk, ack);
  } else if (m.op === 'end') {
    if (!f.gzip) return finish(m.id, { rows: rows(f) });
    if (!f.inflater) return finish(m.id, { error: 'empty gzip data' });
    f.inflater.end();
  }
});
`;

interface Pending {
  resolve: (rows: number | null) => void;
  reject: (err: Error) => void;
  behind: number;
  wake: (() => void) | null;
}

export class RowCountWorker {
  private worker: Worker | null = null;
  private next = 0;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | null = null;

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_SOURCE, { eval: true });
    // Not unref'd: while a count is awaited the worker may be the only thing keeping the process
    // alive; uploadWhileDumping terminates it on every exit path.
    w.on('message', (m: { id: number; ack?: number; rows?: number | null; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.ack !== undefined) {
        p.behind -= m.ack;
        if (p.behind < FLOW_LIMIT && p.wake) {
          const wake = p.wake;
          p.wake = null;
          wake();
        }
      } else if (m.error !== undefined) {
        this.pending.delete(m.id);
        p.reject(new Error(`row count: ${m.error}`));
      } else {
        this.pending.delete(m.id);
        p.resolve(m.rows ?? null);
      }
    });
    const fail = (err: Error) => {
      this.failure = err;
      for (const p of this.pending.values()) {
        p.reject(err);
        p.wake?.();
      }
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => {
      if (this.pending.size) fail(new Error(`row-count worker exited (code ${code})`));
      this.worker = null;
    });
    this.worker = w;
    return w;
  }

  /**
   * A sink for one data file's bytes as stored (gzip: inflated before counting). `rows` resolves
   * once the sink has ended and the worker has counted everything: the exact COPY row count, or
   * null when the data does not end the way pg_dump ends COPY data.
   */
  count(gzip: boolean): { sink: Writable; rows: Promise<number | null> } {
    if (this.failure) throw this.failure;
    const w = this.start();
    const id = this.next++;
    let p!: Pending;
    const rows = new Promise<number | null>((resolve, reject) => {
      p = { resolve, reject, behind: 0, wake: null };
    });
    rows.catch(() => {});
    this.pending.set(id, p);
    w.postMessage({ id, op: 'open', gzip });
    const sink = new Writable({
      highWaterMark: 1 << 20,
      write: (chunk: Buffer, _e, cb) => {
        if (this.failure) return cb(this.failure);
        p.behind += chunk.length;
        // A view into a larger buffer would be cloned whole: post exactly its bytes.
        const data = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : new Uint8Array(chunk);
        w.postMessage({ id, op: 'data', chunk: data });
        if (p.behind < FLOW_LIMIT) cb();
        else p.wake = () => cb(this.failure);
      },
      final: (cb) => {
        if (this.failure) return cb(this.failure);
        w.postMessage({ id, op: 'end' });
        cb();
      },
      destroy: (err, cb) => {
        // An abandoned file: forget it in the worker too (its answer, if any, is ignored).
        if (this.pending.get(id) === p && err) {
          this.pending.delete(id);
          p.reject(err);
        }
        cb(err);
      },
    });
    return { sink, rows };
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
