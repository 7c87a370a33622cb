/**
 * Reading a plain TCP/Unix socket into one reused buffer, the way `net.connect({ onread })` does,
 * for the gateway's relay — on both its sockets, including the ones its server accepted (Node's
 * server has no `onread` option).
 *
 * Why: a `'data'` listener costs, per read, a fresh 64 KiB allocation shrunk to the bytes read
 * (malloc/free churn), a Buffer object and the Readable stream's push/emit/maybeReadMore
 * (a nextTick). The relay does ~2 reads per statement, and on a 2-core machine every µs of the
 * gateway's CPU is taken from PostgreSQL and its clients: measured with pgbench -S, this path
 * cuts a bare Node relay's user CPU per transaction from ~6 µs to ~4 µs.
 *
 * How: Node's `onread` option stores the buffer and callback under three private symbols of the
 * socket and asks its handle to read into that buffer (`useUserBuffer`). Those are found by their
 * descriptions; when they are not there (another Node version), or the socket is TLS (its reads
 * go through the TLS layer), `userBufferReads` returns false and the caller keeps `'data'`.
 *
 * The buffer is reused by the next read: the callback must copy whatever it keeps, and a write of
 * a slice of it that does not complete at once (the socket's writableLength stays > 0) keeps a
 * reference to it — `release()` then makes the next read go to a new buffer.
 */
import { Socket } from 'node:net';

const SIZE = 64 * 1024;

interface Internals {
  kBuffer: symbol;
  kBufferCb: symbol;
  kBufferGen: symbol;
}

let internals: Internals | null | undefined;

function findInternals(): Internals | null {
  if (internals !== undefined) return internals;
  const syms = Object.getOwnPropertySymbols(new Socket());
  const by = (d: string) => syms.find((s) => s.description === d);
  const kBuffer = by('kBuffer');
  const kBufferCb = by('kBufferCb');
  const kBufferGen = by('kBufferGen');
  internals = kBuffer && kBufferCb && kBufferGen ? { kBuffer, kBufferCb, kBufferGen } : null;
  return internals;
}

export interface UserBufferReader {
  /** The buffer of the read in progress must not be reused (a write still references a slice of it). */
  release(): void;
}

/**
 * Switches a plain socket's reads to `onData(buf, n)` (bytes 0..n of buf, valid only during the
 * call). Chunks the socket's stream already buffered are handed over first, in order. Returns
 * null, changing nothing, when the socket cannot be switched (TLS, unknown Node internals).
 */
export function userBufferReads(sock: unknown, onData: (buf: Buffer, n: number) => void): UserBufferReader | null {
  const k = findInternals();
  if (!k || !(sock instanceof Socket) || (sock as { encrypted?: boolean }).encrypted) return null;
  const s = sock as unknown as Record<symbol, unknown> & { _handle: { useUserBuffer?: (b: Uint8Array) => void } | null };
  if (!s._handle || typeof s._handle.useUserBuffer !== 'function' || s[k.kBuffer]) return null;
  let buf: Buffer | null = Buffer.allocUnsafe(SIZE);
  const gen = (): Buffer => (buf ??= Buffer.allocUnsafe(SIZE));
  // Paused first, so the stream's own buffer can be drained before reads go to the callback.
  sock.pause();
  s[k.kBufferGen] = gen;
  s[k.kBuffer] = buf;
  s[k.kBufferCb] = (n: number, b: Buffer) => {
    onData(b, n);
    return true;
  };
  s._handle.useUserBuffer(buf);
  let chunk: Buffer | null;
  while ((chunk = sock.read() as Buffer | null) !== null) onData(chunk, chunk.length);
  return {
    release() {
      buf = null;
    },
  };
}
