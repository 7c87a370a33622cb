/**
 * One client connection through the gateway: TLS, SCRAM-SHA-256 login as a gateway user, an
 * upstream session opened with the gateway's own credentials and `default_transaction_read_only`
 * on, then a relay that classifies every statement before it leaves.
 *
 * A refused statement never reaches the server as written: the gateway sends, in its place, a
 * call to a function that does not exist (`pg_catalog.prodguard_refused_<nonce>_<n>()`). The
 * server answers that with an error at exactly the point of the pipeline where the refused
 * statement was, aborts the transaction as PostgreSQL would, and skips to Sync in the extended
 * protocol; the gateway swaps that error for its own (SQLSTATE 25006 or 42501). So responses stay
 * in order without the gateway having to model every message's replies.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import {
  BodyReader, CANCEL_REQUEST, GSSENC_REQUEST, MessageReader, PROTOCOL_V3, SSL_REQUEST, authMessage, backendKeyData, errorResponse,
  message, parameterStatus, parseErrorFields, parseStartupParams, readyForQuery, type Message, type PgError,
} from './protocol.js';
import { ScramServer } from './scram.js';
import { userBufferReads, type UserBufferReader } from './fast-read.js';
import { maskedCommandJson } from './audit-text.js';
import { sessionDetailsJson, sessionStatementDetailsJson, type SessionDetailsJson } from './audit-sink.js';
import { openUpstream, sendCancel, type UpstreamSession } from './upstream.js';
import { isUtf8Name, judgeSql, maskLiterals, type Judgement } from './judge.js';
import { isUtf8 } from 'node:buffer';
import type { Gateway } from './server.js';
import type { Grant } from '../grants/grants.js';
import { grantIsActive } from '../grants/grants.js';
import { maskSecrets } from '../security/mask.js';
import { newClassifyContext, rememberStatement, type ClassifyContext, type StatementClass } from '../sql/classify.js';
import type { ParsedStatement } from '../sql/parser.js';
import { errorMessage } from '../errors.js';

/** Startup parameters a client may pass on; everything else (options, GUCs, replication) is dropped or refused. */
const PASSED_PARAMS = new Set(['application_name', 'client_encoding', 'datestyle', 'timezone', 'extra_float_digits', 'intervalstyle']);
const MARKER_NONCE = randomBytes(6).toString('hex');
const MARKER_RE = new RegExp(`prodguard_refused_${MARKER_NONCE}_(\\d+)`);

interface Pending {
  texts: string[];
  protocol: 'simple' | 'extended' | 'fastpath';
  verdict: 'allow' | 'deny';
  judgement?: Judgement;
  refusal?: PgError;
  started: number;
  rows: number;
  error?: string;
  executed: boolean;
  /** Simple protocol: the statements sent, recorded in the session's context once they all succeeded. */
  effects?: Array<{ parsed: ParsedStatement; class: StatementClass }>;
  /** Extended protocol: named statements parsed in this batch, recorded once the batch succeeded. */
  namedParses?: Array<{ name: string; class: StatementClass }>;
  /** The session's name epoch when this batch was sent (see ClientSession.nameEpoch). */
  epoch?: number;
  /** Its write-ahead record is written (see ClientSession.writeAhead). */
  announced?: boolean;
}

/** Why a judgement's statements could change which cursors or prepared statements exist. */
const NAME_KINDS = new Set(['PrepareStmt', 'DeallocateStmt', 'DeclareCursorStmt', 'ClosePortalStmt', 'DiscardStmt']);

export class ClientSession {
  readonly id = randomBytes(4).toString('hex');
  readonly keyPid = randomInt(1, 2 ** 31 - 1);
  readonly keySecret = randomInt(1, 2 ** 31 - 1);
  user = '';
  person = '';
  private sock: Duplex;
  private up: UpstreamSession | null = null;
  private closed = false;
  private writeGrant: Grant | null = null;
  /** The upstream session runs read-write (opened under a live grant). */
  private readWrite = false;
  private grantCheckedAt = 0;
  private readonly client: string;
  /** Statements sent upstream whose ReadyForQuery has not come back yet, oldest first. */
  private pending: Pending[] = [];
  /** The extended-protocol batch being assembled until its Sync. */
  private cycle: Pending | null = null;
  private prepared = new Map<string, string>();
  private refusals = new Map<number, PgError>();
  private refusalSeq = 0;
  /** When the oldest pending statement became the one the server works on (statement timeout). */
  private headSince = 0;
  /** The oldest pending statement was already cancelled for running too long. */
  private headCancelled = false;
  /** Last time the client sent anything (idle timeout). */
  private lastActivity = Date.now();
  /** The session is relaying (logged in, upstream open): timeouts apply. */
  private relaying = false;
  /** A server message whose end has not arrived: its bytes so far (only for messages the gateway reads). */
  private upHeld: Buffer | null = null;
  /** Bytes of a passed-through server message that are still to come and go straight to the client. */
  private upSkip = 0;
  private txStatus = 'I';
  /** Reads into a reused buffer (fast-read.ts), when the socket allows it; else 'data' events. */
  private upReads: UserBufferReader | null = null;
  private clientReads: UserBufferReader | null = null;
  /** A client message not yet whole: its parts so far (copied), their length, and the length it needs. */
  private inHeld: Buffer[] | null = null;
  private inHeldLen = 0;
  private inNeed = 0;
  /** This session's fixed audit fields as JSON, serialised once (see finish). */
  private auditKeys: { actor: string; details: SessionDetailsJson } | null = null;
  /**
   * What this session established that later messages may rely on: cursors DECLAREd and
   * statements PREPAREd (by SQL or as named protocol statements) with the class they were judged.
   * It belongs to this client session and its one upstream session only — never shared — so a
   * FETCH is judged by the DECLARE this same session ran. Entries are added only after the server
   * confirmed the statements ran, and removed as soon as a statement that could replace or drop
   * the name is sent, so a stale entry can only name something that no longer exists.
   */
  private ctx: ClassifyContext = newClassifyContext();
  /**
   * Bumped whenever a name may have been replaced or dropped. A batch records what it established
   * only when no later batch (pipelined behind it) touched names in the meantime: otherwise its
   * answer could re-add a verdict that a later, already-sent statement has replaced.
   */
  private nameEpoch = 0;

  constructor(socket: Socket, private readonly gw: Gateway) {
    this.sock = socket;
    socket.setNoDelay(true);
    this.client = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    // Until login finishes the session counts as unauthenticated and has authenticationTimeout to
    // finish it: idle sockets that never log in must not hold slots (red-team gw-274..276).
    gw.unauthenticated.add(this);
    if (gw.authenticationTimeoutMs > 0) {
      setTimeout(() => {
        if (!this.relaying && !this.closed) this.fatal({ code: '08006', message: 'prodguard gateway: authentication timed out' });
      }, gw.authenticationTimeoutMs).unref();
    }
    this.startup(socket).catch((err) => this.fatal({ code: '08P01', message: `prodguard gateway: ${errorMessage(err)}` }));
  }

  /** Reads untyped startup-phase packets until a StartupMessage, handling SSL/GSS/cancel requests. */
  private async startup(socket: Socket): Promise<void> {
    const reader = new MessageReader(10_000);
    let sock: Duplex = socket;
    let tls = false;
    const nextPacket = (): Promise<Message> =>
      new Promise((resolve, reject) => {
        const tryRead = () => {
          let m: Message | null;
          try {
            m = reader.next();
          } catch (e) {
            cleanup();
            return reject(e);
          }
          if (m) {
            cleanup();
            resolve(m);
          }
        };
        const onData = (d: Buffer) => {
          reader.push(d);
          tryRead();
        };
        const onEnd = () => {
          cleanup();
          reject(new Error('client went away during startup'));
        };
        const cleanup = () => {
          sock.off('data', onData);
          sock.off('close', onEnd);
          sock.pause();
        };
        sock.on('data', onData);
        sock.on('close', onEnd);
        sock.resume();
        tryRead();
      });
    for (;;) {
      const p = await nextPacket();
      const code = p.body.readInt32BE(0);
      if (code === SSL_REQUEST && !tls) {
        if (!this.gw.tls) {
          sock.write('N');
          continue;
        }
        sock.write('S');
        const t = new TLSSocket(socket, { isServer: true, secureContext: this.gw.tls });
        await new Promise<void>((resolve, reject) => {
          t.once('secure', resolve);
          t.once('error', reject);
        });
        t.on('error', () => this.close());
        t.on('close', () => this.close());
        sock = t;
        this.sock = t;
        tls = true;
        continue;
      }
      if (code === GSSENC_REQUEST) {
        sock.write('N');
        continue;
      }
      if (code === CANCEL_REQUEST) {
        const r = new BodyReader(p.body);
        r.int32();
        await this.gw.cancel(r.int32(), r.int32());
        this.close();
        return;
      }
      if (code !== PROTOCOL_V3) return this.fatal({ code: '0A000', message: `unsupported frontend protocol ${code >> 16}.${code & 0xffff}` });
      if (this.gw.requireTls && !tls) return this.fatal({ code: '28000', message: 'the prodguard gateway requires TLS; connect with sslmode=require' });
      return this.login(parseStartupParams(p.body), reader);
    }
  }

  private async login(params: Record<string, string>, reader: MessageReader): Promise<void> {
    this.user = params.user ?? '';
    if (params.replication && params.replication !== 'false' && params.replication !== 'off') {
      return this.fatal({ code: '42501', message: 'replication connections are not allowed through the prodguard gateway' });
    }
    // The gateway reads SQL as UTF-8; a client encoding such as SJIS, GBK or BIG5 (whose characters
    // can end in the byte of a backslash) would make the server read other statements than the
    // gateway judged (red-team gw-027, gw-292, gw-293). libpq resolves `auto` before sending.
    const enc = Object.entries(params).find(([k]) => k.toLowerCase() === 'client_encoding')?.[1];
    if (enc !== undefined && !isUtf8Name(enc)) {
      return this.fatal({ code: '22023', message: `prodguard gateway: client_encoding "${enc}" is not supported; the gateway accepts only UTF8 (unset PGCLIENTENCODING or set it to UTF8)` });
    }
    const db = params.database ?? this.user;
    if (db !== this.gw.upstream.database && db !== this.gw.env) {
      return this.fatal({ code: '3D000', message: `database "${db}" is not served by this gateway (it serves "${this.gw.upstream.database}" of environment ${this.gw.env})` });
    }
    const user = this.user ? await this.gw.lookupUser(this.user) : null;
    reader.typed = true;
    reader.maxMessage = 256 * 1024 * 1024;
    const scram = new ScramServer(user?.verifier ?? null);
    this.sock.write(authMessage(10, Buffer.from('SCRAM-SHA-256\0\0')));
    const initial = await this.nextTyped(reader);
    const authFail = () => this.fatal({ code: '28P01', message: `password authentication failed for user "${this.user}"` });
    if (initial.type !== 'p') return authFail();
    let serverFinal: string | null;
    try {
      const r = new BodyReader(initial.body);
      if (r.cstring() !== 'SCRAM-SHA-256') return authFail();
      const len = r.int32();
      this.sock.write(authMessage(11, Buffer.from(scram.first(r.bytes(len).toString('utf8')))));
      const fin = await this.nextTyped(reader);
      if (fin.type !== 'p') return authFail();
      serverFinal = scram.final(fin.body.toString('utf8'));
    } catch {
      return authFail();
    }
    if (!serverFinal || !user) {
      this.gw.auditEvent(this, 'gateway.login', 'deny', 'authentication failed');
      return authFail();
    }
    this.person = user.member;
    if (!this.gw.admit(this)) {
      return this.fatal({ code: '53300', message: `too many connections for gateway user "${this.user}" (limit ${this.gw.maxConnectionsPerUser})` });
    }
    this.writeGrant = await this.gw.activeGrant(this.person);
    this.readWrite = this.writeGrant !== null;
    this.grantCheckedAt = Date.now();
    const passed: Record<string, string> = {};
    for (const [k, v] of Object.entries(params)) if (PASSED_PARAMS.has(k.toLowerCase())) passed[k] = v;
    try {
      this.up = await openUpstream(this.gw.upstream, this.gw.upstreamOptions(this.writeGrant !== null), passed);
    } catch (err) {
      this.gw.auditEvent(this, 'gateway.connect', 'failed', errorMessage(err));
      return this.fatal({ code: (err as { code?: string }).code ?? '08006', message: `prodguard gateway cannot reach the database: ${errorMessage(err)}` });
    }
    this.sock.write(Buffer.concat([authMessage(12, Buffer.from(serverFinal)), authMessage(0), ...this.up.parameters.map(([k, v]) => parameterStatus(k, v)), backendKeyData(this.keyPid, this.keySecret), readyForQuery('I')]));
    this.gw.auditEvent(this, 'gateway.connect', 'allow', this.writeGrant ? `write grant ${this.writeGrant.id} (${this.writeGrant.kind}) until ${this.writeGrant.expiresAt}` : 'read-only session');
    this.relay(reader);
  }

  private nextTyped(reader: MessageReader): Promise<Message> {
    return new Promise((resolve, reject) => {
      const tryRead = (): boolean => {
        const m = reader.next();
        if (m) {
          cleanup();
          resolve(m);
          return true;
        }
        return false;
      };
      const onData = (d: Buffer) => {
        reader.push(d);
        try {
          tryRead();
        } catch (e) {
          cleanup();
          reject(e);
        }
      };
      const onEnd = () => {
        cleanup();
        reject(new Error('client went away during authentication'));
      };
      const cleanup = () => {
        this.sock.off('data', onData);
        this.sock.off('close', onEnd);
        this.sock.pause();
      };
      this.sock.on('data', onData);
      this.sock.on('close', onEnd);
      this.sock.resume();
      try {
        tryRead();
      } catch (e) {
        cleanup();
        reject(e);
      }
    });
  }

  private relay(reader: MessageReader): void {
    const up = this.up!;
    up.socket.on('error', () => this.upstreamLost());
    up.socket.on('close', () => this.upstreamLost());
    this.relaying = true;
    this.lastActivity = Date.now();
    this.gw.unauthenticated.delete(this);
    // Bytes that arrived during startup go first, then what each socket's stream buffered, then
    // reads: into one reused buffer per socket where the socket allows it (fast-read.ts).
    if (up.leftover.length) this.fromUpstream(up.leftover, up.leftover.length, false);
    this.upReads = userBufferReads(up.socket, (b, n) => this.fromUpstream(b, n, true));
    if (!this.upReads) up.socket.on('data', (d: Buffer) => this.fromUpstream(d, d.length, false));
    up.socket.resume();
    const rest = reader.pending();
    if (rest.length) this.fromClient(rest, rest.length, false);
    this.clientReads = userBufferReads(this.sock, (b, n) => this.fromClient(b, n, true));
    if (!this.clientReads) this.sock.on('data', (d: Buffer) => this.fromClient(d, d.length, false));
    this.sock.resume();
  }

  /** The write grant, re-read from the store at most every 2 s (revocation); expiry is checked on every use. */
  private grantValid(): boolean {
    if (Date.now() - this.grantCheckedAt > 2000) {
      this.grantCheckedAt = Date.now();
      void this.gw.activeGrant(this.person).then((g) => (this.writeGrant = g)).catch(() => (this.writeGrant = null));
    }
    return this.writeGrant !== null && grantIsActive(this.writeGrant);
  }

  private decide(text: string): { judgement: Judgement; refusal?: PgError } {
    const judgement = judgeSql(text, this.ctx);
    if (judgement.readOnlyOk) {
      this.forgetNames(judgement);
      return { judgement };
    }
    if (this.grantValid()) {
      // Under a grant anything runs, including code (DO, functions) that can PREPARE, DEALLOCATE or
      // open cursors out of sight: nothing known about this session's names survives it.
      this.ctx.cursors.clear();
      this.ctx.prepared.clear();
      this.nameEpoch++;
      return { judgement };
    }
    const expired = this.writeGrant && !grantIsActive(this.writeGrant);
    return {
      judgement,
      refusal: {
        code: judgement.class === 'privilege' ? '42501' : '25006',
        message: `prodguard gateway: ${judgement.class} statement refused for "${this.user}" (${this.gw.readFrom ? `this gateway reads from the shadow ${this.gw.readFrom}; no write runs through it` : expired ? `write grant expired at ${this.writeGrant!.expiresAt}` : 'read-only access'}): ${judgement.reason}`,
        hint: 'Write access needs a time-boxed grant: an approved change deployed by CI (prodguard migrate deploy) or an emergency break-glass grant; reconnect once it is granted.',
      },
    };
  }

  /**
   * Forgets, before the statements are sent, every cursor and prepared statement they could
   * create, replace, close or deallocate: if they fail half-way (a PREPARE outlives a rolled-back
   * transaction) the session must not keep believing the old verdict for that name.
   */
  private forgetNames(j: Judgement): void {
    for (const { parsed } of j.statements ?? []) {
      if (!NAME_KINDS.has(parsed.kind)) continue;
      this.nameEpoch++;
      const { kind, node: n } = parsed;
      switch (kind) {
        case 'PrepareStmt':
          this.ctx.prepared.delete(String(n.name));
          break;
        case 'DeallocateStmt':
          if (n.isall || !n.name) this.ctx.prepared.clear();
          else this.ctx.prepared.delete(String(n.name));
          break;
        case 'DeclareCursorStmt':
          this.ctx.cursors.delete(String(n.portalname));
          break;
        case 'ClosePortalStmt':
          if (n.portalname) this.ctx.cursors.delete(String(n.portalname));
          else this.ctx.cursors.clear();
          break;
        default:
          this.ctx.cursors.clear();
          this.ctx.prepared.clear();
      }
    }
  }

  /** Records what a batch established, once the server answered it without an error. */
  private recordEffects(p: Pending, status: string): void {
    if (p.verdict === 'allow' && !p.error && p.epoch === this.nameEpoch) {
      for (const e of p.effects ?? []) rememberStatement(e.parsed, e.class, this.ctx);
      for (const e of p.namedParses ?? []) this.ctx.prepared.set(e.name, e.class);
    }
    // Outside a transaction block every cursor not declared WITH HOLD is gone (an implicit
    // transaction of a multi-statement message ends with it), whatever statements said so.
    if (status === 'I') {
      if (this.ctx.cursors.size) for (const [name, c] of this.ctx.cursors) if (!c.hold) this.ctx.cursors.delete(name);
      this.ctx.inTransactionBlock = false;
      if (this.ctx.transactionTemps.size) this.ctx.transactionTemps.clear();
    }
  }

  private marker(refusal: PgError): string {
    const n = ++this.refusalSeq;
    this.refusals.set(n, refusal);
    return `SELECT pg_catalog.prodguard_refused_${MARKER_NONCE}_${n}()`;
  }

  /**
   * Client → server. Messages are framed in place in the chunk as read (no object or slice per
   * message); a chunk of whole messages, none rewritten, is forwarded as it came with one write.
   * `reused`: the chunk is the socket's read buffer (fast-read.ts), overwritten by the next read,
   * so what is kept is copied and a write still pending releases the buffer.
   */
  private fromClient(b: Buffer, n: number, reused: boolean): void {
    if (this.closed || !this.up) return;
    this.lastActivity = Date.now();
    let data = b;
    let end = n;
    if (this.inHeld) {
      // The rest of a message held from earlier chunks: its parts are joined once it is whole
      // (joining on every chunk copied a 7 MB message ~100 times: red-team gw-270).
      this.inHeldLen += n;
      if (this.inHeldLen < this.inNeed) {
        this.inHeld.push(Buffer.from(b.subarray(0, n)));
        return;
      }
      this.inHeld.push(b.subarray(0, n));
      data = Buffer.concat(this.inHeld, this.inHeldLen);
      end = data.length;
      this.inHeld = null;
      reused = false;
    }
    let pos = 0;
    let from = 0;
    let out: Buffer[] | null = null;
    try {
      while (pos < end) {
        if (end - pos < 5) {
          this.holdIn(data, pos, end, 5);
          break;
        }
        const len = data.readInt32BE(pos + 1);
        if (len < 4 || len > CLIENT_MESSAGE_MAX) throw new Error(`invalid message length ${len}`);
        const total = len + 1;
        if (pos + total > end) {
          this.holdIn(data, pos, end, total);
          break;
        }
        const rep = this.clientMessage(data, pos, total);
        if (this.closed) return;
        if (rep !== undefined) {
          (out ??= []).push(data.subarray(from, pos), rep);
          from = pos + total;
        }
        pos += total;
      }
    } catch (err) {
      this.fatal({ code: '08P01', message: `prodguard gateway: protocol violation: ${errorMessage(err)}` });
      return;
    }
    const upSock = this.up.socket;
    if (out) {
      if (pos > from) out.push(data.subarray(from, pos));
      upSock.write(Buffer.concat(out));
    } else if (pos > 0) {
      upSock.write(pos === data.length ? data : data.subarray(0, pos));
      if (reused && upSock.writableLength > 0) this.clientReads?.release();
    }
  }

  /** Keeps bytes pos..end of a chunk (a message not yet whole, `need` bytes in all) for the next chunk. */
  private holdIn(data: Buffer, pos: number, end: number, need: number): void {
    this.inHeld = [Buffer.from(data.subarray(pos, end))];
    this.inHeldLen = end - pos;
    this.inNeed = need;
  }

  /**
   * One client message (bytes pos..pos+total of data): what to send instead of it, or undefined
   * to send it as it is. The messages of every statement (Query, Bind, Execute, Sync) are read
   * in place; the rarer ones through a Message view (legacyMessage).
   */
  private clientMessage(data: Buffer, pos: number, total: number): Buffer | undefined {
    const type = data[pos];
    switch (type) {
      case 0x51: // Query
        return this.grantEnded() ? EMPTY : this.query(data, pos + 5, pos + total);
      case 0x42: // Bind
        this.bind(data, pos + 5, pos + total);
        return undefined;
      case 0x45: {
        // Execute: the server runs it as soon as it arrives, Sync or not: write ahead now.
        const c = this.openCycle();
        c.executed = true;
        this.writeAhead(c);
        return undefined;
      }
      case 0x53: {
        // Sync
        const c = this.cycle ?? this.newPending('extended');
        this.cycle = null;
        c.epoch = this.nameEpoch;
        this.push(c);
        return undefined;
      }
      case 0x44: // Describe
      case 0x48: // Flush
      case 0x64: // CopyData
      case 0x63: // CopyDone
      case 0x66: // CopyFail
        return undefined;
      default: {
        const raw = data.subarray(pos, pos + total);
        const b = this.legacyMessage({ type: String.fromCharCode(type), body: raw.subarray(5), raw });
        return b === raw ? undefined : b;
      }
    }
  }

  /** A read-write session whose grant has ended is closed before its next statement. */
  private grantEnded(): boolean {
    // A read-write upstream session must not outlive its grant: the server's read-only wall is
    // off in it, so once the grant has expired or been revoked the session ends.
    if (!this.readWrite || this.grantValid()) return false;
    this.gw.auditEvent(this, 'gateway.grant-ended', 'closed', 'write grant expired or revoked during the session');
    this.fatal({ code: '25006', message: 'prodguard gateway: your write grant has expired or was revoked; reconnect for a read-only session' });
    return true;
  }

  /** A simple-protocol Query (body bs..be): judged, and replaced by a refusal marker when refused. */
  private query(data: Buffer, bs: number, be: number): Buffer | undefined {
    const nul = data.indexOf(0, bs);
    const bad = this.badTextAt(data, bs, nul < be ? nul : -1, be);
    const text = bad ? '<refused before parsing>' : data.toString('utf8', bs, nul);
    const { judgement, refusal } = bad ? { judgement: { class: 'unparsed' as const, readOnlyOk: false, reason: bad.message }, refusal: bad } : this.decide(text);
    this.push({ texts: [text], protocol: 'simple', verdict: refusal ? 'deny' : 'allow', judgement, refusal, started: this.lastActivity, rows: 0, executed: true, effects: refusal ? [] : judgement.statements, epoch: this.nameEpoch });
    return refusal ? message('Q', this.marker(refusal)) : undefined;
  }

  /** A Bind (body bs..be): a named portal makes what the session knew under that name stale. */
  private bind(data: Buffer, bs: number, be: number): void {
    let p = bs;
    if (p >= be) throw new Error('unterminated string in message');
    if (data[p] === 0) p++;
    else {
      const e = data.indexOf(0, p);
      if (e < 0 || e >= be) throw new Error('unterminated string in message');
      // A named portal is reachable by SQL FETCH: whatever this session knew under that name is stale.
      this.ctx.cursors.delete(data.toString('utf8', p, e));
      this.nameEpoch++;
      p = e + 1;
    }
    const c = this.openCycle();
    if (data[p] === 0 && p < be) return;
    const e = data.indexOf(0, p);
    if (e < 0 || e >= be) throw new Error('unterminated string in message');
    const text = this.prepared.get(data.toString('utf8', p, e));
    if (text !== undefined && !c.texts.includes(text)) c.texts.push(text);
  }

  /** Parse, Close, FunctionCall, Terminate and anything unknown, read through a Message view. */
  private legacyMessage(m: Message): Buffer {
    if ((m.type === 'P' || m.type === 'F') && this.grantEnded()) return EMPTY;
    switch (m.type) {
      case 'P': {
        const r = new BodyReader(m.body);
        const name = r.cstring();
        const nul = m.body.indexOf(0, r.pos);
        const bad = this.badTextAt(m.body, r.pos, nul, m.body.length);
        const text = bad ? '<refused before parsing>' : r.cstring();
        const c = this.openCycle();
        // A named statement shares PREPARE's namespace: forget the old one now, learn the new one
        // when the batch succeeded (only then does the server surely hold it).
        if (name) {
          this.ctx.prepared.delete(name);
          this.nameEpoch++;
        }
        const { judgement, refusal } = bad ? { judgement: { class: 'unparsed' as const, readOnlyOk: false, reason: bad.message }, refusal: bad } : this.decide(text);
        if (name) this.prepared.set(name, text);
        // The protocol allows one statement per Parse, so the judgement's class is that statement's.
        const cls: StatementClass = judgement.class === 'unparsed' || judgement.class === 'empty' ? 'write' : judgement.class;
        if (name && !refusal) (c.namedParses ??= []).push({ name, class: cls });
        c.texts.push(text);
        if (!c.judgement || rank(judgement) > rank(c.judgement)) c.judgement = judgement;
        if (refusal && !c.refusal) {
          c.refusal = refusal;
          c.verdict = 'deny';
          if (name) this.prepared.delete(name);
          return message('P', name, this.marker(refusal), Buffer.from([0, 0]));
        }
        return m.raw;
      }
      case 'C': {
        const r = new BodyReader(m.body);
        const what = String.fromCharCode(r.body[0]);
        r.pos = 1;
        const closed = r.cstring();
        if (what === 'S') {
          this.prepared.delete(closed);
          this.ctx.prepared.delete(closed);
        } else this.ctx.cursors.delete(closed);
        this.nameEpoch++;
        return m.raw;
      }
      case 'F': {
        // The fast-path function call interface (used for large objects) carries no SQL to judge.
        const refusal: PgError | undefined = this.grantValid() ? undefined : { code: '42501', message: 'prodguard gateway: the fast-path function call interface is refused (read-only access)', hint: 'Use SQL; write access needs a time-boxed grant.' };
        this.push({ texts: ['<fast-path function call>'], protocol: 'fastpath', verdict: refusal ? 'deny' : 'allow', refusal, started: Date.now(), rows: 0, executed: true });
        return refusal ? message('Q', this.marker(refusal)) : m.raw;
      }
      case 'X':
        this.close();
        return EMPTY;
      default:
        return m.raw;
    }
  }

  /**
   * Why a statement's text (bytes `from` up to its NUL at `nul`, -1 when the message `end`s
   * without one, of a Query or Parse) is refused
   * before it is parsed: longer than gateway.maxStatementBytes (parsing runs on the event loop,
   * so one 7 MB statement stalled every client for seconds: red-team gw-270..273), or not valid
   * UTF-8 (the bytes must mean to the server what they meant to the gateway's lexer).
   */
  private badTextAt(data: Buffer, from: number, nul: number, end: number): PgError | undefined {
    const len = (nul < 0 ? end : nul) - from;
    const max = this.gw.maxStatementBytes;
    if (max > 0 && len > max) {
      return { code: '54000', message: `prodguard gateway: statement of ${len} bytes refused: larger than gateway.maxStatementBytes (${max})`, hint: 'Split it into smaller statements, or use COPY for bulk data.' };
    }
    if (nul < 0 || !isUtf8Text(data, from, nul)) {
      return { code: '22021', message: 'prodguard gateway: statement refused: its text is not valid UTF-8 (the gateway accepts only UTF8 client encoding)' };
    }
    return undefined;
  }

  private newPending(protocol: Pending['protocol']): Pending {
    return { texts: [], protocol, verdict: 'allow', started: Date.now(), rows: 0, executed: false };
  }

  private openCycle(): Pending {
    return (this.cycle ??= this.newPending('extended'));
  }

  private push(p: Pending): void {
    if (!this.pending.length) this.startHead();
    this.pending.push(p);
    this.writeAhead(p);
  }

  /**
   * Write-ahead: a statement that can change the database (it runs under a write grant) is on
   * disk in the audit log before it is forwarded; its outcome follows as a second record.
   */
  private writeAhead(p: Pending): void {
    if (p.announced || p.verdict !== 'allow') return;
    if (p.protocol !== 'fastpath' && (!p.judgement || p.judgement.readOnlyOk)) return;
    p.announced = true;
    this.auditStart(p);
  }

  private startHead(): void {
    this.headSince = Date.now();
    this.headCancelled = false;
  }

  /**
   * The statement and idle timeouts, checked by the gateway's periodic sweep rather than by a
   * timer per statement (arming and clearing timers on every message cost more than the relay).
   */
  tick(now: number): void {
    if (this.closed || !this.relaying || !this.up) return;
    const st = this.gw.statementTimeoutMs;
    if (this.pending.length) {
      if (st > 0 && !this.headCancelled && now - this.headSince >= st) {
        this.headCancelled = true;
        this.pending[0].error = `statement timeout (${st} ms) reached: cancelled by the gateway`;
        void sendCancel(this.gw.upstream, this.up.pid, this.up.secret);
      }
      return;
    }
    const idle = this.gw.idleTimeoutMs;
    if (idle > 0 && now - this.lastActivity >= idle) {
      this.gw.auditEvent(this, 'gateway.idle-timeout', 'closed', `no activity for ${idle} ms`);
      this.fatal({ code: '57P05', message: `prodguard gateway: terminating connection after ${idle} ms idle` });
    }
  }

  /**
   * Server → client. Bytes are forwarded as they arrive; the gateway reads only the headers, and
   * the bodies of the three message types it needs: CommandComplete (rows), ErrorResponse (to
   * swap a refusal marker's error for the gateway's own) and ReadyForQuery (end of a statement).
   * Only those are held back until complete; everything else — data rows, COPY data — passes
   * through without being copied or framed into objects, however it is split across chunks.
   */
  private fromUpstream(d: Buffer, dn: number, reused: boolean): void {
    if (this.closed) return;
    let data = d;
    let n = dn;
    if (this.upHeld) {
      data = Buffer.concat([this.upHeld, d.subarray(0, dn)]);
      n = data.length;
      this.upHeld = null;
      reused = false;
    }
    let pos = 0;
    if (this.upSkip > 0) {
      pos = Math.min(this.upSkip, n);
      this.upSkip -= pos;
    }
    let from = 0;
    let out: Buffer[] | null = null;
    let held = -1;
    try {
      while (pos < n) {
        if (n - pos < 5) {
          held = pos;
          break;
        }
        const type = data[pos];
        const len = data.readInt32BE(pos + 1);
        if (len < 4 || len > 1024 * 1024 * 1024) throw new Error(`invalid message length ${len}`);
        const end = pos + 1 + len;
        if (type !== 0x43 && type !== 0x45 && type !== 0x5a) {
          // Not read by the gateway: pass through, even if its end is still to come.
          if (end > n) {
            this.upSkip = end - n;
            pos = n;
            break;
          }
          pos = end;
          continue;
        }
        if (end > n) {
          held = pos;
          break;
        }
        if (type === 0x43) {
          if (this.pending.length) this.pending[0].rows += rowsFromTagBytes(data, pos + 5, end - 1);
        } else if (type === 0x45) {
          const f = parseErrorFields(data.subarray(pos + 5, end));
          const hit = f.C === '42883' ? MARKER_RE.exec(f.M ?? '') : null;
          const refusal = hit ? this.refusals.get(Number(hit[1])) : undefined;
          if (refusal) {
            this.refusals.delete(Number(hit![1]));
            (out ??= []).push(data.subarray(from, pos), errorResponse(refusal));
            from = end;
          } else if (this.pending.length) this.pending[0].error ??= `${f.C}: ${f.M}`;
        } else {
          this.txStatus = String.fromCharCode(data[pos + 5]);
          const p = this.pending.shift();
          this.recordEffects(p ?? this.newPending('simple'), this.txStatus);
          if (p) this.finish(p);
          if (this.pending.length) this.startHead();
          else if (this.refusals.size) this.refusals.clear();
        }
        pos = end;
      }
    } catch (err) {
      this.fatal({ code: '08P01', message: `prodguard gateway: bad message from the database: ${errorMessage(err)}` });
      return;
    }
    // A message the gateway reads whose end is still to come waits for it (copied: the chunk may
    // be the socket's reused read buffer, or a large chunk that a few bytes must not keep alive).
    const stop = held >= 0 ? held : n;
    if (held >= 0) this.upHeld = Buffer.from(data.subarray(held, n));
    if (out) {
      if (stop > from) out.push(data.subarray(from, stop));
      this.toClient(Buffer.concat(out));
    } else if (stop > from) {
      this.toClient(from === 0 && stop === data.length ? data : data.subarray(from, stop));
      if (reused && this.sock.writableLength > 0) this.upReads?.release();
    }
  }

  /**
   * Backpressure: a client that does not read its socket (a huge COPY … TO STDOUT or result set)
   * must not make the gateway buffer the whole result in memory — that would let one session
   * exhaust the gateway for everyone. Reading from the database pauses until the client drains.
   */
  private toClient(buf: Buffer): void {
    if (this.sock.write(buf)) return;
    const up = this.up?.socket;
    if (!up || up.isPaused()) return;
    up.pause();
    this.sock.once('drain', () => up.resume());
  }

  /** The write-ahead record of a statement about to be forwarded under a write grant. */
  private auditStart(p: Pending): void {
    const text = p.texts.join(';\n') || '<no statement>';
    this.gw.auditStatement(this, {
      action: 'gateway.statement-start',
      command: this.gw.maskLiterals ? maskLiterals(text) : maskSecrets(text),
      verdict: p.verdict,
      reason: `${p.judgement?.class ?? 'fast-path'}: sent under write grant ${this.writeGrant?.id ?? '?'}`,
      details: { class: p.judgement?.class ?? null, protocol: p.protocol, ...(this.writeGrant ? { grant: this.writeGrant.id } : {}) },
    }, true);
  }

  private finish(p: Pending): void {
    if (!p.executed && p.verdict === 'allow' && !p.error) return;
    const j = p.judgement;
    // Refusals and statements that could change something are written at once; reads in batches.
    const now = p.verdict !== 'allow' || p.protocol === 'fastpath' || (j !== undefined && !j.readOnlyOk);
    const maskLit = this.gw.maskLiterals;
    let command: string;
    // A simple-protocol statement judged from the shape cache carries its masked text already.
    if (maskLit && p.protocol === 'simple' && p.texts.length === 1 && j?.maskedJson !== undefined) command = j.maskedJson;
    else {
      const text = p.texts.join(';\n') || '<no statement>';
      command = maskLit ? maskedCommandJson(text) : JSON.stringify(maskSecrets(text));
    }
    const reason = p.refusal ? JSON.stringify(p.refusal.message) : j ? (j.reasonJson ?? JSON.stringify(`${j.class}: ${j.reason}`)) : '"unknown: "';
    const error = p.error && !p.refusal ? (maskLit ? maskLiterals(p.error) : maskSecrets(p.error)) : undefined;
    this.auditKeys ??= { actor: JSON.stringify(this.person || this.user), details: sessionDetailsJson(this.user, this.client, this.id) };
    const details = sessionStatementDetailsJson(this.auditKeys.details, j ? '"' + j.class + '"' : 'null', p.protocol, Date.now() - p.started, p.rows, this.writeGrant?.id, error);
    this.gw.auditStatementJson(this.auditKeys.actor, command, p.verdict, reason, details, now);
  }

  private upstreamLost(): void {
    if (this.closed) return;
    this.gw.auditEvent(this, 'gateway.upstream-lost', 'failed', 'the database closed the connection');
    this.fatal({ code: '57P01', message: 'prodguard gateway: the connection to the database was lost; reconnect' });
  }

  /** Sends a FATAL error to the client and closes both sides. */
  fatal(e: Omit<PgError, 'severity'>): void {
    if (this.closed) return;
    try {
      this.sock.write(errorResponse({ ...e, severity: 'FATAL' }));
    } catch {
      /* client already gone */
    }
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending) {
      p.error ??= 'client disconnected before the statement finished';
      this.finish(p);
    }
    this.pending = [];
    this.sock.end();
    setTimeout(() => this.sock.destroy(), 1000).unref();
    if (this.up) {
      // A Terminate lets the server end the session cleanly; its transaction rolls back.
      try {
        this.up.socket.end(Buffer.from([0x58, 0, 0, 0, 4]));
      } catch {
        /* gone */
      }
      setTimeout(() => this.up?.socket.destroy(), 1000).unref();
    }
    this.gw.unauthenticated.delete(this);
    this.gw.release(this);
  }

  /** Forwards a client's cancel request to the upstream session. */
  async cancelUpstream(): Promise<void> {
    if (this.up) await sendCancel(this.gw.upstream, this.up.pid, this.up.secret);
  }

  get clientAddress(): string {
    return this.client;
  }

  get transactionStatus(): string {
    return this.txStatus;
  }
}

const RANKS: Record<string, number> = { unparsed: 6, destructive: 5, privilege: 4, ddl: 3, write: 2, session: 1, read: 0, empty: -1 };
const rank = (j: Judgement): number => RANKS[j.class] ?? 6;

const EMPTY = Buffer.alloc(0);
/** Longest client message after login (a larger length is a protocol violation, or an attack). */
const CLIENT_MESSAGE_MAX = 256 * 1024 * 1024;

/** Bytes from..end are valid UTF-8: checked in JavaScript while they are ASCII (short statements), natively after. */
function isUtf8Text(data: Buffer, from: number, end: number): boolean {
  for (let i = from; i < end; i++) if (data[i] >= 0x80) return isUtf8(data.subarray(i, end));
  return true;
}

/** Rows from a CommandComplete tag in bytes from..end ("SELECT 3", "INSERT 0 1"): its trailing number, read in place. */
function rowsFromTagBytes(data: Buffer, from: number, end: number): number {
  let i = end;
  while (i > from && data[i - 1] >= 0x30 && data[i - 1] <= 0x39) i--;
  return i < end ? Number(data.toString('latin1', i, end)) : 0;
}
