/**
 * prodguard's state: backup catalog, verifications, drills, changes, approvals, grants.
 * Kept as typed documents in named collections so every layer owns its records without the
 * store knowing their shape; SQLite implements it by default, a PostgreSQL store can implement the
 * same interface for teams (several servers sharing one state). Async so that PostgreSQL fits.
 */
export interface ListOptions {
  /** Equality filters on top-level document fields. */
  where?: Record<string, string | number | boolean | null>;
  /** Newest first by default. */
  order?: 'newest' | 'oldest';
  limit?: number;
}

export interface StoredDoc<T> {
  id: string;
  createdAt: string;
  updatedAt: string;
  doc: T;
}

export interface StateStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Human description (file path or masked URL). */
  readonly location: string;
  put<T extends object>(collection: string, id: string, doc: T): Promise<void>;
  get<T extends object>(collection: string, id: string): Promise<T | null>;
  list<T extends object>(collection: string, opts?: ListOptions): Promise<StoredDoc<T>[]>;
  delete(collection: string, id: string): Promise<boolean>;
  /** Small key/value settings (e.g. the audit log's head). */
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
  close(): Promise<void>;
  /**
   * Team stores only: appends an audit record to the append-only anchor table (origin = one
   * machine's log). Local stores leave these out: a local copy anchors nothing.
   */
  appendAudit?(origin: string, rec: { seq: number; hash: string }): Promise<void>;
  readAudit?(origin: string): Promise<AnchoredAudit[]>;
  /** Records of `origin` anchored under a displaced origin because their (origin, seq) was taken (ap-051). */
  readDisplacedAudit?(origin: string): Promise<AnchoredAudit[]>;
  /** Team stores only: many records of one origin in one statement (the gateway's per-statement log). */
  appendAuditBatch?(origin: string, recs: Array<{ seq: number; hash: string; json: string }>): Promise<void>;
  /** Team stores only: records of every origin whose action starts with `actionPrefix`, filtered, newest `limit`. */
  searchAudit?(f: { actionPrefix: string; person?: string; env?: string; verdict?: string; limit: number }): Promise<unknown[]>;
  /** Team stores only: every anchored record of a policy coming into force (src/policy/anchor.ts), any origin. */
  readPolicyAnchors?(): Promise<unknown[]>;
  /** Team stores only: every origin with its row count, seq range and first record (audit verify, ap-050). */
  auditOrigins?(): Promise<AuditOrigin[]>;
  /** Team stores only: one anchored record, or null. */
  readAuditRow?(origin: string, seq: number): Promise<AnchoredAudit | null>;
}

export interface AuditOrigin {
  origin: string;
  rows: number;
  firstSeq: number;
  lastSeq: number;
  firstRecord: unknown;
}

export interface AnchoredAudit {
  seq: number;
  hash: string;
  record: unknown;
}
