/**
 * Per-statement audit for the gateway. Every statement becomes a hash-chained record in the same
 * format as the main audit log (src/audit/log.ts), so `prodguard audit verify`'s checker works
 * on it; but the gateway writes its own file, holding the chain head in memory for its lifetime
 * (one writer per file, enforced by a lock file), and appends in batches: a proxy relaying
 * thousands of statements a second cannot afford a file lock and a write per statement.
 *
 * What reaches the disk when:
 * - records of read-only statements are buffered and appended every `flushMs` (100 ms), or as
 *   soon as `maxBuffered` records wait, and on close, on SIGTERM/SIGINT shutdown and on process
 *   exit (an uncaught exception included);
 * - a record marked `now` (a refused statement, a statement run under a write grant, a session
 *   event) is appended, with everything buffered before it, before the call returns — the
 *   gateway marks statements that can change the database so their record is written before the
 *   statement is forwarded (write-ahead), and then appends their outcome as a second record.
 * So a `kill -9` of the gateway can lose at most the last ~100 ms of records of statements that
 * were allowed as read-only (they changed nothing); every write under a grant and every refusal
 * is on disk (in the kernel's page cache) before the database sees it. A machine crash can lose
 * what the kernel had not written back, as for any file not fsync'ed.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { lastLineOf } from '../audit/last-line.js';
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { GENESIS, type AuditInput, type AuditRecord } from '../audit/log.js';
import { ProdguardError } from '../errors.js';

function headOf(file: string): { seq: number; hash: string } {
  if (!existsSync(file)) return { seq: 0, hash: GENESIS };
  const line = lastLineOf(file);
  if (!line) return { seq: 0, hash: GENESIS };
  try {
    const r = JSON.parse(line) as AuditRecord;
    return { seq: r.seq, hash: r.hash };
  } catch {
    // A damaged last line: chain onto its raw hash, as the main log does, so verify names it.
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
    return { seq: lines.length, hash: createHash('sha256').update(line).digest('hex') };
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Canonical JSON (sorted keys, undefined left out): the same text src/audit/log.ts hashes. */
export function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return '[' + value.map(canonical).join(',') + ']';
  const o = value as Record<string, unknown>;
  let s = '';
  for (const k of Object.keys(o).sort()) {
    if (o[k] === undefined) continue;
    s += (s ? ',' : '') + JSON.stringify(k) + ':' + canonical(o[k]);
  }
  return '{' + s + '}';
}

/** canonical() of an object; flat objects of primitives (the gateway's details) take a faster path. */
export function flatCanonical(o: Record<string, unknown>): string {
  const keys = Object.keys(o);
  for (const k of keys) {
    const v = o[k];
    if (v !== null && typeof v === 'object') return canonical(o);
  }
  // JSON.stringify with a key list writes the keys in that order and leaves undefined out, as canonical() does.
  return JSON.stringify(o, keys.sort());
}

/** One-shot SHA-256 (crypto.hash, Node ≥ 20.12) where available: half the cost of createHash for a short text. */
const sha256hex: (data: string | Uint8Array) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (data) => (crypto as unknown as { hash(alg: string, data: string | Uint8Array, enc: string): string }).hash('sha256', data, 'hex')
    : (data) => createHash('sha256').update(data).digest('hex');

/** The fields of a gateway statement record's details, all primitive. */
export interface StatementDetails {
  user: string;
  client: string;
  session: string;
  class: string | null;
  protocol: string;
  durationMs?: number;
  rows?: number;
  grant?: string;
  error?: string;
}

/**
 * canonical() of a statement's details, written out in sorted key order: this runs for every
 * statement, and sorting and a replacer list cost more than the rest of the record.
 */
export function statementDetailsJson(d: StatementDetails): string {
  const q = JSON.stringify;
  return (
    '{"class":' + q(d.class) + ',"client":' + q(d.client) +
    (d.durationMs !== undefined ? ',"durationMs":' + q(d.durationMs) : '') +
    (d.error !== undefined ? ',"error":' + q(d.error) : '') +
    (d.grant !== undefined ? ',"grant":' + q(d.grant) : '') +
    ',"protocol":' + q(d.protocol) +
    (d.rows !== undefined ? ',"rows":' + q(d.rows) : '') +
    ',"session":' + q(d.session) + ',"user":' + q(d.user) + '}'
  );
}

/** The fragments of a statement record's details that are fixed for a session, as canonical JSON. */
export interface SessionDetailsJson {
  /** `,"client":…` */
  client: string;
  /** `,"session":…,"user":…}` */
  tail: string;
}

export function sessionDetailsJson(user: string, client: string, session: string): SessionDetailsJson {
  const q = JSON.stringify;
  return { client: ',"client":' + q(client), tail: ',"session":' + q(session) + ',"user":' + q(user) + '}' };
}

/**
 * statementDetailsJson() of a statement of a session, with the session's fragments serialised
 * once per session rather than per statement. `classJson` is the class as JSON ('"read"', 'null');
 * `protocol` one of the gateway's plain ASCII protocol names.
 */
export function sessionStatementDetailsJson(s: SessionDetailsJson, classJson: string, protocol: string, durationMs: number, rows: number, grant?: string, error?: string): string {
  return (
    '{"class":' + classJson + s.client + ',"durationMs":' + JSON.stringify(durationMs) +
    (error !== undefined ? ',"error":' + JSON.stringify(error) : '') +
    (grant !== undefined ? ',"grant":' + JSON.stringify(grant) : '') +
    ',"protocol":"' + protocol + '","rows":' + JSON.stringify(rows) + s.tail
  );
}

export interface SinkRecord extends AuditInput {
  actor: string;
}

/** writeSync until every byte is written (a regular file normally takes all at once). */
function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

export class GatewayAuditSink {
  private head: { seq: number; hash: string };
  /**
   * The batch waiting to be appended, as the UTF-8 bytes of its lines, in one buffer reused for
   * every batch: joining the lines into one string per batch and converting it for the write
   * allocated ~2 MB per batch, fresh memory the kernel had to fault in (~0.3 page faults per
   * statement, a measurable share of the gateway's system CPU). A full buffer is written out
   * before the batch's time is up: 256 KiB stays in the CPU's cache while it is filled and copied.
   */
  private readonly out = Buffer.allocUnsafe(256 * 1024);
  private outLen = 0;
  /** Records in `out`. */
  private count = 0;
  /** The same records as lines, kept only for onFlush. */
  private lines: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly lock: string;
  private fd: number;
  private closed = false;
  private readonly onExit = () => this.close();
  /** Called with each batch of lines as it is written to the file (the team store's copy, see start.ts). */
  onFlush: ((lines: string[]) => void) | null = null;
  written = 0;

  constructor(readonly file: string, private readonly flushMs = 100, private readonly maxBuffered = 2000) {
    mkdirSync(dirname(file), { recursive: true });
    this.lock = `${file}.gateway-lock`;
    // One writer per file: a second gateway on the same log would fork the chain.
    if (existsSync(this.lock)) {
      const pid = Number(readFileSync(this.lock, 'utf8').trim());
      if (pid && pidAlive(pid) && pid !== process.pid) throw new ProdguardError(`another gateway (pid ${pid}) writes ${file}; give each gateway its own gateway.auditLog`, { code: 'gateway.audit-locked' });
      unlinkSync(this.lock);
    }
    const fd = openSync(this.lock, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    this.head = headOf(file);
    this.fd = openSync(file, 'a', 0o600);
    process.on('exit', this.onExit);
  }

  /**
   * Chains and queues one record. The hash covers the canonical text of the record (as in the
   * main log), and the line written is that same text with the hash added, so one serialisation
   * serves both. `now` writes it (and everything queued) before returning.
   */
  append(input: SinkRecord, now = false): void {
    this.appendJson(input, input.details !== undefined ? flatCanonical(input.details) : undefined, now);
  }

  /** append() with the details already as canonical JSON (statementDetailsJson). */
  appendJson(input: Omit<SinkRecord, 'details'>, detailsJson: string | undefined, now = false): void {
    const q = JSON.stringify;
    this.appendCanonical(q(input.action), q(input.actor), q(input.command), detailsJson, q(input.reason), q(input.target), q(input.verdict), now);
  }

  /**
   * append() with every field already as canonical JSON text (JSON.stringify of the string, the
   * details as from statementDetailsJson): the gateway serialises what is fixed for a session or
   * a cached verdict once, not per statement.
   */
  appendCanonical(action: string, actor: string, command: string, detailsJson: string | undefined, reason: string, target: string, verdict: string, now = false): void {
    if (this.closed) return;
    const seq = this.head.seq + 1;
    // The canonical text, written out in sorted key order (what canonical() of the record gives,
    // without sorting ten keys per statement); details go through flatCanonical.
    const body =
      '{"action":' + action + ',"actor":' + actor + ',"command":' + command +
      (detailsJson !== undefined ? ',"details":' + detailsJson : '') +
      ',"prev":"' + this.head.hash + '","reason":' + reason + ',"seq":' + seq + ',"target":' + target +
      ',"time":"' + this.isoNow() + '","verdict":' + verdict + '}';
    // At most 3 bytes of UTF-8 per UTF-16 code unit, and the hash part after it.
    const room = body.length * 3 + 80;
    if (this.outLen + room > this.out.length) {
      this.writeOut();
      if (room > this.out.length) {
        // A record larger than the whole buffer (a very long statement) is written on its own.
        const hash = sha256hex(body);
        this.head = { seq, hash };
        const line = body.slice(0, -1) + ',"hash":"' + hash + '"}';
        writeAll(this.fd, Buffer.from(line + '\n'));
        this.written++;
        if (this.onFlush) this.lines.push(line);
        this.handOver();
        return;
      }
    }
    // The body is encoded once, into the batch buffer, and hashed there; the line is the body
    // with the hash added before its closing brace.
    const start = this.outLen;
    const end = start + this.out.write(body, start);
    const hash = sha256hex(this.out.subarray(start, end));
    this.head = { seq, hash };
    const tail = ',"hash":"' + hash + '"}\n';
    this.outLen = end - 1 + this.out.write(tail, end - 1, 'latin1');
    if (this.onFlush) this.lines.push(body.slice(0, -1) + tail.slice(0, -1));
    this.count++;
    if (now || this.count >= this.maxBuffered) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  private lastMs = 0;
  private lastIso = '';
  /** The current time as ISO 8601, formatted once per millisecond. */
  private isoNow(): string {
    const ms = Date.now();
    if (ms !== this.lastMs) {
      this.lastMs = ms;
      this.lastIso = new Date(ms).toISOString();
    }
    return this.lastIso;
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.closed) return;
    this.writeOut();
    this.handOver();
  }

  /** Appends the waiting bytes to the file. */
  private writeOut(): void {
    if (!this.outLen) return;
    writeAll(this.fd, this.out.subarray(0, this.outLen));
    this.written += this.count;
    this.outLen = 0;
    this.count = 0;
  }

  /** Gives the lines written since the last call to onFlush. */
  private handOver(): void {
    if (!this.lines.length) return;
    const lines = this.lines;
    this.lines = [];
    this.onFlush?.(lines);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    process.off('exit', this.onExit);
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
    try {
      unlinkSync(this.lock);
    } catch {
      /* already gone */
    }
  }
}
