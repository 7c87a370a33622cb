/**
 * `prodguard gateway`: a PostgreSQL wire-protocol relay in front of one environment. It holds
 * the database credentials (users never see them), logs people in with their own SCRAM-SHA-256
 * gateway accounts, runs every upstream session read-only, lets through only what the SQL engine
 * proves read-only unless the person holds a live write grant, and audits every statement.
 *
 * Why a focused relay and not the `pg-gateway` package: its published version (0.2.x) has no
 * SCRAM-SHA-256 for clients and no cancel-request handling, and it hands every message to
 * JavaScript callbacks; the gateway needs SCRAM, cancel mapping and a hot path that forwards
 * bytes and only frames them. The protocol subset a relay needs is small (protocol.ts).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { ConnInfo } from '../pg/conninfo.js';
import type { Grant } from '../grants/grants.js';
import type { GatewayUser } from './users.js';
import { statementDetailsJson, type GatewayAuditSink, type StatementDetails } from './audit-sink.js';
import { ClientSession } from './session.js';
import { sendCancel } from './upstream.js';
import { loadSqlParser } from '../sql/parser.js';
import { setRestrictedSettings } from './judge.js';
import { withClient } from '../pg/client.js';

export interface GatewayOptions {
  env: string;
  upstream: ConnInfo;
  host: string;
  port: number;
  tls: SecureContext | null;
  requireTls: boolean;
  lookupUser(name: string): Promise<GatewayUser | null>;
  activeGrant(person: string): Promise<Grant | null>;
  audit: GatewayAuditSink | null;
  /** The team store's copy of the audit, drained on close. */
  auditCopy?: { close(): Promise<void> } | null;
  maskLiterals: boolean;
  statementTimeoutMs: number;
  /** temp_file_limit sent with every read-only upstream session (null: the login may not set it). */
  tempFileLimit?: string | null;
  idleTimeoutMs: number;
  maxConnectionsPerUser: number;
  maxConnections: number;
  /** Reads go to this environment (production's shadow); no write grant is honoured. */
  readFrom?: string | null;
  /** Longest SQL text of one Query or Parse judged; longer is refused before parsing (0: no limit). */
  maxStatementBytes?: number;
  /** Time a connection has to finish logging in (0: no limit). */
  authenticationTimeoutMs?: number;
  /** Connections not yet logged in beyond this are closed at once. */
  maxUnauthenticated?: number;
  /** The upstream's connection URL, to read pg_settings once at start. */
  upstreamUrl?: string;
}

export class Gateway {
  readonly env: string;
  readonly upstream: ConnInfo;
  readonly tls: SecureContext | null;
  readonly requireTls: boolean;
  readonly maskLiterals: boolean;
  readonly statementTimeoutMs: number;
  readonly tempFileLimit: string | null;
  readonly idleTimeoutMs: number;
  readonly maxConnectionsPerUser: number;
  /** The shadow environment reads go to, or null when the gateway serves env itself. */
  readonly readFrom: string | null;
  readonly maxStatementBytes: number;
  readonly authenticationTimeoutMs: number;
  /** Sessions whose login has not finished (see maxUnauthenticated). */
  readonly unauthenticated = new Set<ClientSession>();
  private server: Server | null = null;
  private sessions = new Set<ClientSession>();
  private admitted = new Map<string, number>();
  private byKey = new Map<string, ClientSession>();
  private sockets = new Set<Socket>();
  private sweep: NodeJS.Timeout | null = null;
  statements = 0;

  constructor(private readonly opts: GatewayOptions) {
    this.env = opts.env;
    this.upstream = opts.upstream;
    this.tls = opts.tls;
    this.requireTls = opts.requireTls;
    this.maskLiterals = opts.maskLiterals;
    this.statementTimeoutMs = opts.statementTimeoutMs;
    this.tempFileLimit = opts.tempFileLimit ?? null;
    this.idleTimeoutMs = opts.idleTimeoutMs;
    this.maxConnectionsPerUser = opts.maxConnectionsPerUser;
    this.readFrom = opts.readFrom ?? null;
    this.maxStatementBytes = opts.maxStatementBytes ?? 1024 * 1024;
    this.authenticationTimeoutMs = opts.authenticationTimeoutMs ?? 10_000;
    this.targetJson = JSON.stringify(opts.env);
  }

  async listen(): Promise<{ host: string; port: number }> {
    await loadSqlParser();
    await this.readRestrictedSettings();
    const server = createServer((socket) => {
      if (this.sockets.size >= this.opts.maxConnections || this.unauthenticated.size >= (this.opts.maxUnauthenticated ?? 64)) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      const s = new ClientSession(socket, this);
      this.sessions.add(s);
    });
    this.server = server;
    // One periodic sweep enforces every session's statement and idle timeouts (a timer per
    // message cost more than relaying it); its period bounds how late a timeout can fire.
    const limits = [this.statementTimeoutMs, this.idleTimeoutMs].filter((t) => t > 0);
    if (limits.length) {
      const period = Math.min(1000, Math.max(50, Math.floor(Math.min(...limits) / 10)));
      this.sweep = setInterval(() => {
        const now = Date.now();
        for (const s of this.sessions) s.tick(now);
      }, period);
      this.sweep.unref();
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    const a = server.address();
    return { host: this.opts.host, port: typeof a === 'object' && a ? a.port : this.opts.port };
  }

  /**
   * Reads which settings are not of context `user` from the upstream's pg_settings (a fact from
   * the database, per server version); on failure the judge keeps its built-in list.
   */
  private async readRestrictedSettings(): Promise<void> {
    if (!this.opts.upstreamUrl) return;
    try {
      const names = await withClient(this.opts.upstreamUrl, async (c) => (await c.query<{ name: string }>("SELECT name FROM pg_settings WHERE context <> 'user'")).rows.map((r) => r.name));
      setRestrictedSettings(names);
    } catch {
      /* the upstream may be down at start; the built-in list of superuser-only settings applies */
    }
  }

  async close(): Promise<void> {
    if (this.sweep) clearInterval(this.sweep);
    for (const s of this.sessions) s.fatal({ code: '57P01', message: 'prodguard gateway is shutting down' });
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    for (const s of this.sockets) s.destroy();
    this.opts.audit?.close();
    await this.opts.auditCopy?.close();
  }

  lookupUser(name: string): Promise<GatewayUser | null> {
    return this.opts.lookupUser(name);
  }

  activeGrant(person: string): Promise<Grant | null> {
    // Reading from the shadow: a write would land on the shadow, so no grant opens one.
    if (this.readFrom) return Promise.resolve(null);
    return this.opts.activeGrant(person);
  }

  /** Server settings of every upstream session: the read-only wall unless a write grant is live. */
  upstreamOptions(write: boolean): Record<string, string> {
    const o: Record<string, string> = { default_transaction_read_only: write ? 'off' : 'on' };
    if (this.statementTimeoutMs > 0) o.statement_timeout = String(this.statementTimeoutMs);
    if (this.idleTimeoutMs > 0) o.idle_in_transaction_session_timeout = String(this.idleTimeoutMs);
    // Reads cannot write tables, but a sort of a generated billion rows writes temporary files
    // on production's disk (red team w6d-346/378/679).
    if (!write && this.tempFileLimit) o.temp_file_limit = this.tempFileLimit;
    return o;
  }

  /** Counts a logged-in session against its user's limit; false when over it. */
  admit(s: ClientSession): boolean {
    const n = this.admitted.get(s.user) ?? 0;
    if (n >= this.maxConnectionsPerUser) return false;
    this.admitted.set(s.user, n + 1);
    this.byKey.set(`${s.keyPid}:${s.keySecret}`, s);
    (s as unknown as { admittedFlag: boolean }).admittedFlag = true;
    return true;
  }

  release(s: ClientSession): void {
    this.sessions.delete(s);
    if ((s as unknown as { admittedFlag?: boolean }).admittedFlag) {
      (s as unknown as { admittedFlag: boolean }).admittedFlag = false;
      this.admitted.set(s.user, Math.max(0, (this.admitted.get(s.user) ?? 1) - 1));
      this.byKey.delete(`${s.keyPid}:${s.keySecret}`);
    }
  }

  async cancel(pid: number, secret: number): Promise<void> {
    const s = this.byKey.get(`${pid}:${secret}`);
    if (s) {
      this.auditEvent(s, 'gateway.cancel', 'allow', 'client cancel request forwarded');
      await s.cancelUpstream();
    }
  }

  auditStatement(s: ClientSession, r: { action?: string; command: string; verdict: string; reason: string; details: Omit<StatementDetails, 'user' | 'client' | 'session'> }, now = false): void {
    if (!r.action) this.statements++;
    this.opts.audit?.appendJson(
      { actor: s.person || s.user, action: r.action ?? 'gateway.statement', command: r.command, target: this.env, verdict: r.verdict, reason: r.reason },
      statementDetailsJson({ user: s.user, client: s.clientAddress, session: s.id, ...r.details }),
      now,
    );
  }

  /** The environment as JSON, for statement records. */
  private readonly targetJson: string;

  /**
   * A statement record whose fields are already canonical JSON (the per-statement path: the
   * session serialises its own fields once, a cached verdict carries its reason's JSON).
   */
  auditStatementJson(actorJson: string, commandJson: string, verdict: 'allow' | 'deny', reasonJson: string, detailsJson: string, now: boolean): void {
    this.statements++;
    this.opts.audit?.appendCanonical('"gateway.statement"', actorJson, commandJson, detailsJson, reasonJson, this.targetJson, verdict === 'allow' ? '"allow"' : '"deny"', now);
  }

  auditEvent(s: ClientSession, action: string, verdict: string, reason: string): void {
    this.opts.audit?.append({ actor: s.person || s.user || '?', action, command: '', target: this.env, verdict, reason, details: { user: s.user, client: s.clientAddress, session: s.id } }, true);
  }

  /** Writes buffered audit records now (tests, shutdown). */
  flushAudit(): void {
    this.opts.audit?.flush();
  }

  get connections(): number {
    return this.sessions.size;
  }
}

export { sendCancel };
