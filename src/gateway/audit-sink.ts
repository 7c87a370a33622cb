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
const sha256hex: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (text) => (crypto as unknown as { hash(alg: string, data: string, enc: string): string }).hash('sha256', text, 'hex')
    : (text) => createHash('sha256').update(text).digest('hex');

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

export interface SinkRecord extends AuditInput {
  actor: string;
}

export class GatewayAuditSink {
  private head: { seq: number; hash: string };
  private buffer: string[] = [];
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
    if (this.closed) return;
    const seq = this.head.seq + 1;
    // The canonical text, written out in sorted key order (what canonical() of the record gives,
    // without sorting ten keys per statement); details go through flatCanonical.
    const q = JSON.stringify;
    const body =
      '{"action":' + q(input.action) + ',"actor":' + q(input.actor) + ',"command":' + q(input.command) +
      (detailsJson !== undefined ? ',"details":' + detailsJson : '') +
      ',"prev":' + q(this.head.hash) + ',"reason":' + q(input.reason) + ',"seq":' + seq + ',"target":' + q(input.target) +
      ',"time":"' + this.isoNow() + '","verdict":' + q(input.verdict) + '}';
    const hash = sha256hex(body);
    this.head = { seq, hash };
    const line = body.slice(0, -1) + ',"hash":"' + hash + '"}';
    this.buffer.push(line);
    if (now || this.buffer.length >= this.maxBuffered) this.flush();
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
    if (!this.buffer.length || this.closed) return;
    const lines = this.buffer;
    this.written += lines.length;
    this.buffer = [];
    writeSync(this.fd, lines.join('\n') + '\n');
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
