/**
 * One restore session's `COPY … FROM stdin` run from a worker thread: the worker holds the
 * database connection, inflates the table's data (gzip, as pg_dump wrote it) and feeds the COPY;
 * the main thread reads, hashes and decrypts the stored object and hands the worker the
 * still-compressed plaintext.
 *
 * Why a worker: a table's data inflates to several times its stored size, and every piece of it
 * is a fresh buffer on its way to the socket. In the restoring process (pg client, config,
 * destinations, … on the heap) that churn set off a full garbage collection every few dozen
 * megabytes, each marking the whole heap: measured on 850 MB of pgbench plus application data,
 * the process spent about a second of CPU more than pg_restore on the same work, on two cores
 * that the server needs too. A worker's heap is nearly empty, so the same churn costs almost
 * nothing there (the backup's row counting is in a worker for the same reason:
 * row-count-worker.ts).
 *
 * Flow control: a sink's write completes once the worker is less than FLOW_LIMIT bytes behind,
 * so a slow server slows the reader instead of queueing the table in memory. The worker is an
 * `eval` worker (plain JS below, loading `pg` and `pg-copy-streams` by resolved path) so it runs
 * the same from the TypeScript sources and from dist/.
 */
import { Worker } from 'node:worker_threads';
import { Writable } from 'node:stream';
import { createRequire } from 'node:module';
import { ProdguardError } from '../errors.js';
import { describeTarget } from '../pg/client.js';
import { maskSecrets } from '../security/mask.js';

const FLOW_LIMIT = 8 << 20;
const BATCH = 1 << 20;
const resolve = createRequire(import.meta.url).resolve;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const zlib = require('node:zlib');
const pg = require(workerData.pg);
const copyFrom = require(workerData.copyStreams).from;
const client = new pg.Client({ connectionString: workerData.url, application_name: workerData.applicationName, connectionTimeoutMillis: 10000 });
client.on('error', () => {});
const errorOf = (e, inflating) => ({ message: String((e && e.message) || e), severity: e && e.severity, code: e && e.code, inflating });
client.connect().then(() => client.query(workerData.sessionSql)).then(
  () => parentPort.postMessage({ op: 'ready' }),
  (e) => parentPort.postMessage({ op: 'fatal', error: errorOf(e, false) }),
);
let current = null;
parentPort.on('message', (m) => {
  if (m.op === 'open') {
    const copy = client.query(copyFrom(m.sql, { highWaterMark: 1 << 20 }));
    const c = { id: m.id, input: copy, failed: false };
    const fail = (e, inflating) => {
      if (c.failed) return;
      c.failed = true;
      parentPort.postMessage({ id: m.id, op: 'error', error: errorOf(e, inflating) });
    };
    if (m.gzip) {
      const g = zlib.createGunzip({ chunkSize: 1 << 20 });
      g.on('error', (e) => { fail(e, true); copy.destroy(e); });
      g.pipe(copy);
      c.input = g;
    }
    copy.on('error', (e) => fail(e, false));
    copy.on('finish', () => { if (!c.failed) parentPort.postMessage({ id: m.id, op: 'done', rows: copy.rowCount }); });
    current = c;
  } else if (m.op === 'data') {
    const c = current;
    if (!c || c.id !== m.id || c.failed) return;
    const n = m.chunk.byteLength;
    c.input.write(Buffer.from(m.chunk.buffer, m.chunk.byteOffset, n), () => parentPort.postMessage({ id: m.id, op: 'ack', bytes: n }));
  } else if (m.op === 'end') {
    if (current && current.id === m.id && !current.failed) current.input.end();
  } else if (m.op === 'close') {
    client.end().then(() => process.exit(0), () => process.exit(0));
  }
});
`;

interface WorkerError {
  message: string;
  severity?: string;
  code?: string;
  inflating: boolean;
}

/** The worker's report as an Error: a database error keeps its severity and SQLSTATE (callers tell the two apart by severity). */
function asError(e: WorkerError): Error {
  const err = new Error(e.inflating ? `cannot inflate the data: ${e.message}` : e.message) as Error & { severity?: string; code?: string };
  if (e.severity) err.severity = e.severity;
  if (e.code) err.code = e.code;
  return err;
}

interface Copying {
  id: number;
  sink: Writable;
  behind: number;
  wake: (() => void) | null;
  finished: (() => void) | null;
  rows: number;
}

export class CopySession {
  private next = 0;
  private current: Copying | null = null;
  private broken: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: { op: string; id?: number; bytes?: number; rows?: number; error?: WorkerError }) => {
      const c = this.current;
      if (!c || m.id !== c.id) return;
      if (m.op === 'ack') {
        c.behind -= m.bytes!;
        if (c.behind < FLOW_LIMIT && c.wake) {
          const wake = c.wake;
          c.wake = null;
          wake();
        }
      } else if (m.op === 'done') {
        c.rows = m.rows ?? 0;
        this.current = null;
        c.finished?.();
      } else if (m.op === 'error') {
        this.fail(asError(m.error!));
      }
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`the restore's COPY worker exited (code ${code})`)));
  }

  /** A worker connected to `url` with `sessionSql` run, ready to copy; a refused connection throws as connect() does. */
  static async open(url: string, sessionSql: string, applicationName = 'prodguard restore'): Promise<CopySession> {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { url, sessionSql, applicationName, pg: resolve('pg'), copyStreams: resolve('pg-copy-streams') },
    });
    const ready = await new Promise<WorkerError | null>((ok, ko) => {
      const onMessage = (m: { op: string; error?: WorkerError }) => {
        if (m.op !== 'ready' && m.op !== 'fatal') return;
        worker.off('message', onMessage);
        worker.off('error', ko);
        ok(m.op === 'ready' ? null : m.error!);
      };
      worker.on('message', onMessage);
      worker.once('error', ko);
    });
    if (ready) {
      await worker.terminate();
      throw new ProdguardError(`cannot connect to ${describeTarget(url)}: ${maskSecrets(ready.message)}`, { code: 'pg.connect' });
    }
    return new CopySession(worker);
  }

  private fail(err: Error): void {
    this.broken ??= err;
    const c = this.current;
    this.current = null;
    if (c && !c.sink.destroyed) c.sink.destroy(err);
  }

  /**
   * A sink for one TABLE DATA object's plaintext as stored (`gzip`: inflated in the worker) into
   * `copySql` (`COPY … FROM stdin`). The sink finishes once the server has completed the COPY;
   * `rows()` is then its row count. A failure (the server's, or data that does not inflate)
   * destroys the sink with an Error carrying the server's severity when it is the server's.
   */
  copy(copySql: string, gzip: boolean): { sink: Writable; rows: () => number } {
    if (this.broken) throw this.broken;
    if (this.current) throw new Error('CopySession.copy: one COPY at a time');
    const id = this.next++;
    const c: Copying = { id, sink: null as unknown as Writable, behind: 0, wake: null, finished: null, rows: 0 };
    // Pieces (the decrypter's are 64 KiB) are gathered into one message of about BATCH bytes:
    // every message is a wake-up of the other thread, and those cost more than the copy.
    let batch: Buffer[] = [];
    let batched = 0;
    const post = () => {
      if (batched === 0) return;
      const data = batch.length === 1 && batch[0].byteOffset === 0 && batch[0].byteLength === batch[0].buffer.byteLength ? batch[0] : Buffer.concat(batch, batched);
      batch = [];
      batched = 0;
      try {
        this.worker.postMessage({ op: 'data', id, chunk: data }, [data.buffer as ArrayBuffer]);
      } catch {
        // A buffer Node will not let go of (its pool): a copy goes instead.
        const copy = new Uint8Array(data);
        this.worker.postMessage({ op: 'data', id, chunk: copy }, [copy.buffer]);
      }
    };
    c.sink = new Writable({
      highWaterMark: 1 << 20,
      write: (chunk: Buffer, _e, cb) => {
        c.behind += chunk.length;
        batch.push(chunk);
        batched += chunk.length;
        if (batched >= BATCH) post();
        if (c.behind < FLOW_LIMIT) cb();
        else c.wake = () => cb();
      },
      final: (cb) => {
        post();
        c.finished = () => cb();
        this.worker.postMessage({ op: 'end', id });
      },
      destroy: (err, cb) => {
        // Abandoned mid-table (the source failed): the session is done; close() ends the worker
        // and with it the connection, which aborts the COPY on the server.
        if (err) this.broken ??= err;
        if (this.current === c) this.current = null;
        cb(err);
      },
    });
    this.current = c;
    this.worker.postMessage({ op: 'open', id, sql: copySql, gzip });
    return { sink: c.sink, rows: () => c.rows };
  }

  /** Ends the connection and the worker; a session that failed is cut off at once. */
  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    this.worker.on('error', () => {});
    if (this.broken) {
      await this.worker.terminate();
      return;
    }
    const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    this.worker.postMessage({ op: 'close' });
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }
}
