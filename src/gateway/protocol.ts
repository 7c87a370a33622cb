/**
 * The PostgreSQL frontend/backend protocol (version 3), only as much as a relay needs: framing a
 * byte stream into messages, reading the few fields the gateway looks at, and building the
 * messages it sends itself. https://www.postgresql.org/docs/current/protocol-message-formats.html
 */

export const PROTOCOL_V3 = 196608;
export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;

export interface Message {
  /** Type byte as a character ('Q', 'P', …); '' for the untyped startup-phase packets. */
  type: string;
  /** The body, without type byte and length. */
  body: Buffer;
  /** The whole message as it arrived (type, length, body). */
  raw: Buffer;
}

/**
 * Splits a stream into messages. `typed` false reads one untyped packet (startup, SSL or cancel
 * request: int32 length first); after that the caller switches to typed messages.
 */
export class MessageReader {
  private buf: Buffer = Buffer.alloc(0);
  typed = false;
  /** Largest message accepted; a bigger length is a protocol violation (or an attack). */
  constructor(public maxMessage = 64 * 1024 * 1024) {}

  /**
   * Chunks received after `buf`, joined only once the message they complete is whole: joining on
   * every chunk copied a 7 MB message ~100 times (quadratic) on the event loop (red-team gw-270).
   */
  private more: Buffer[] = [];
  private moreLen = 0;

  push(chunk: Buffer): void {
    if (!this.buf.length) this.buf = chunk;
    else {
      this.more.push(chunk);
      this.moreLen += chunk.length;
    }
  }

  private join(): void {
    if (!this.more.length) return;
    this.buf = Buffer.concat([this.buf, ...this.more]);
    this.more = [];
    this.moreLen = 0;
  }

  /** The next complete message, or null when more bytes are needed. Throws on a bad length. */
  next(): Message | null {
    const head = this.typed ? 5 : 4;
    if (this.buf.length < head) this.join();
    let b = this.buf;
    if (b.length < head) return null;
    const len = this.typed ? b.readInt32BE(1) : b.readInt32BE(0);
    if (len < 4 || len > this.maxMessage) throw new Error(`invalid message length ${len}`);
    const total = this.typed ? len + 1 : len;
    if (b.length < total) {
      if (b.length + this.moreLen < total) return null;
      this.join();
      b = this.buf;
    }
    const raw = b.subarray(0, total);
    this.buf = b.subarray(total);
    return { type: this.typed ? String.fromCharCode(b[0]) : '', body: raw.subarray(head), raw };
  }

  /** Bytes received but not yet framed. */
  pending(): Buffer {
    this.join();
    return this.buf;
  }
}

/** Reads NUL-terminated strings and integers from a message body. */
export class BodyReader {
  pos = 0;
  constructor(readonly body: Buffer) {}
  cstring(): string {
    const end = this.body.indexOf(0, this.pos);
    if (end < 0) throw new Error('unterminated string in message');
    const s = this.body.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }
  int32(): number {
    const v = this.body.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int16(): number {
    const v = this.body.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  bytes(n: number): Buffer {
    const v = this.body.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  rest(): Buffer {
    return this.body.subarray(this.pos);
  }
}

/** A typed message from its parts. */
export function message(type: string, ...parts: Array<Buffer | string | number>): Buffer {
  const bufs = parts.map((p) => (typeof p === 'number' ? int32(p) : typeof p === 'string' ? cstr(p) : p));
  const body = Buffer.concat(bufs);
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

export const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
export const int16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
export const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);

/** An untyped packet (startup, cancel): int32 length, then the body. */
export function packet(body: Buffer): Buffer {
  return Buffer.concat([int32(body.length + 4), body]);
}

export function startupPacket(params: Record<string, string>): Buffer {
  const parts = [int32(PROTOCOL_V3)];
  for (const [k, v] of Object.entries(params)) parts.push(cstr(k), cstr(v));
  parts.push(Buffer.from([0]));
  return packet(Buffer.concat(parts));
}

export function parseStartupParams(body: Buffer): Record<string, string> {
  const r = new BodyReader(body);
  r.int32();
  const out: Record<string, string> = {};
  while (r.pos < body.length - 1) {
    const k = r.cstring();
    if (!k) break;
    out[k] = r.cstring();
  }
  return out;
}

export interface PgError {
  severity?: 'ERROR' | 'FATAL';
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

export function errorResponse(e: PgError, type: 'E' | 'N' = 'E'): Buffer {
  const sev = e.severity ?? 'ERROR';
  const fields: Buffer[] = [Buffer.from('S'), cstr(sev), Buffer.from('V'), cstr(sev), Buffer.from('C'), cstr(e.code), Buffer.from('M'), cstr(e.message)];
  if (e.detail) fields.push(Buffer.from('D'), cstr(e.detail));
  if (e.hint) fields.push(Buffer.from('H'), cstr(e.hint));
  fields.push(Buffer.from([0]));
  return message(type, Buffer.concat(fields));
}

/** Fields of an ErrorResponse/NoticeResponse body, keyed by their one-letter codes. */
export function parseErrorFields(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < body.length && body[pos] !== 0) {
    const code = String.fromCharCode(body[pos]);
    const end = body.indexOf(0, pos + 1);
    if (end < 0) break;
    out[code] = body.toString('utf8', pos + 1, end);
    pos = end + 1;
  }
  return out;
}

export const readyForQuery = (status: string): Buffer => message('Z', Buffer.from(status, 'latin1'));
export const authMessage = (code: number, extra: Buffer = Buffer.alloc(0)): Buffer => message('R', int32(code), extra);
export const parameterStatus = (k: string, v: string): Buffer => message('S', k, v);
export const backendKeyData = (pid: number, secret: number): Buffer => message('K', int32(pid), int32(secret));

/** Rows affected/returned from a CommandComplete tag ("SELECT 3", "INSERT 0 1", "COPY 10"). */
export function rowsFromTag(tag: string): number {
  const m = /(\d+)$/.exec(tag);
  return m ? Number(m[1]) : 0;
}
