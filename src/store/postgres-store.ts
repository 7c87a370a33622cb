/**
 * The team store: the same document store as SQLite, in PostgreSQL (`state.store: postgres`,
 * URL in the variable `state.urlEnv`), so CI jobs, servers and laptops share one state — the
 * staging pass one CI job records is visible to the deploy job, approvals and the policy chain are
 * the same everywhere. Its own schema (prodguard_state) is versioned; migrations run under an
 * advisory lock so two processes opening a fresh store do not both migrate.
 */
import pg from 'pg';
import type { ListOptions, StateStore, StoredDoc } from './store.js';
import { ProdguardError, errorMessage } from '../errors.js';
import { describeTarget } from '../pg/client.js';
import { maskSecrets } from '../security/mask.js';
import { APPEND_AUDIT_BATCH_SQL, APPEND_AUDIT_SQL, CREATE_AUDIT_ANCHOR_SQL, READ_AUDIT_SQL, READ_DISPLACED_AUDIT_SQL, READ_POLICY_ANCHORS_SQL, AUDIT_ORIGINS_SQL, READ_AUDIT_ROW_SQL } from '../audit/sql/anchor.js';
import type { AnchoredAudit, AuditOrigin } from './store.js';

export const POSTGRES_MIGRATIONS: string[] = [
  `CREATE SCHEMA IF NOT EXISTS prodguard_state;
   CREATE TABLE prodguard_state.documents (
     collection text NOT NULL,
     id text NOT NULL,
     seq bigserial NOT NULL,
     created_at text NOT NULL,
     updated_at text NOT NULL,
     body jsonb NOT NULL,
     PRIMARY KEY (collection, id)
   );
   CREATE INDEX documents_by_time ON prodguard_state.documents (collection, created_at, seq);
   CREATE TABLE prodguard_state.meta (key text PRIMARY KEY, value text NOT NULL);`,
  CREATE_AUDIT_ANCHOR_SQL,
];

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Any constant works as long as every prodguard uses the same one. */
const MIGRATE_LOCK = 7_201_512_001;

export class PostgresStore implements StateStore {
  readonly kind = 'postgres' as const;
  readonly location: string;
  readonly pool: pg.Pool;

  private constructor(url: string) {
    this.location = describeTarget(url);
    this.pool = new pg.Pool({ connectionString: url, max: 3, application_name: 'prodguard store', connectionTimeoutMillis: 10_000, idleTimeoutMillis: 5_000 });
    this.pool.on('error', () => {});
  }

  static async open(url: string): Promise<PostgresStore> {
    const s = new PostgresStore(url);
    try {
      await s.migrate();
    } catch (err) {
      await s.pool.end().catch(() => {});
      throw new ProdguardError(`cannot open the team store ${s.location}: ${maskSecrets(errorMessage(err))}`, { code: 'store.open', cause: err });
    }
    return s;
  }

  private async migrate(): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATE_LOCK]);
      await c.query('CREATE SCHEMA IF NOT EXISTS prodguard_state');
      await c.query('CREATE TABLE IF NOT EXISTS prodguard_state.schema_version (version int NOT NULL)');
      const r = await c.query('SELECT version FROM prodguard_state.schema_version');
      const current = r.rows[0]?.version ?? 0;
      if (current > POSTGRES_MIGRATIONS.length) throw new Error(`team store schema version ${current} is newer than this prodguard (${POSTGRES_MIGRATIONS.length}); upgrade prodguard`);
      for (let v = current; v < POSTGRES_MIGRATIONS.length; v++) await c.query(POSTGRES_MIGRATIONS[v]);
      if (r.rows.length === 0) await c.query('INSERT INTO prodguard_state.schema_version VALUES ($1)', [POSTGRES_MIGRATIONS.length]);
      else await c.query('UPDATE prodguard_state.schema_version SET version = $1', [POSTGRES_MIGRATIONS.length]);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      c.release();
    }
  }

  async schemaVersion(): Promise<number> {
    return (await this.pool.query('SELECT version FROM prodguard_state.schema_version')).rows[0].version as number;
  }

  async put<T extends object>(collection: string, id: string, doc: T): Promise<void> {
    const now = new Date().toISOString();
    await this.pool.query(
      `INSERT INTO prodguard_state.documents (collection, id, created_at, updated_at, body) VALUES ($1, $2, $3, $3, $4)
       ON CONFLICT (collection, id) DO UPDATE SET updated_at = excluded.updated_at, body = excluded.body`,
      [collection, id, now, JSON.stringify(doc)],
    );
  }

  async get<T extends object>(collection: string, id: string): Promise<T | null> {
    const r = await this.pool.query('SELECT body FROM prodguard_state.documents WHERE collection = $1 AND id = $2', [collection, id]);
    return r.rows[0] ? (r.rows[0].body as T) : null;
  }

  async list<T extends object>(collection: string, opts: ListOptions = {}): Promise<StoredDoc<T>[]> {
    const params: unknown[] = [collection];
    let sql = 'SELECT id, created_at, updated_at, body FROM prodguard_state.documents WHERE collection = $1';
    for (const [field, value] of Object.entries(opts.where ?? {})) {
      if (!FIELD.test(field)) throw new Error(`bad field name ${field}`);
      params.push(field);
      if (value === null) sql += ` AND (body -> $${params.length} IS NULL OR body -> $${params.length} = 'null'::jsonb)`;
      else {
        params.push(JSON.stringify(value));
        sql += ` AND body -> $${params.length - 1} = $${params.length}::jsonb`;
      }
    }
    const dir = opts.order === 'oldest' ? 'ASC' : 'DESC';
    sql += ` ORDER BY created_at ${dir}, seq ${dir}`;
    if (opts.limit) sql += ` LIMIT ${Math.floor(opts.limit)}`;
    const r = await this.pool.query(sql, params);
    return r.rows.map((row: { id: string; created_at: string; updated_at: string; body: T }) => ({ id: row.id, createdAt: row.created_at, updatedAt: row.updated_at, doc: row.body }));
  }

  async delete(collection: string, id: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM prodguard_state.documents WHERE collection = $1 AND id = $2', [collection, id])).rowCount ?? 0) > 0;
  }

  async getMeta(key: string): Promise<string | null> {
    const r = await this.pool.query('SELECT value FROM prodguard_state.meta WHERE key = $1', [key]);
    return (r.rows[0]?.value as string | undefined) ?? null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.pool.query('INSERT INTO prodguard_state.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  async appendAudit(origin: string, rec: { seq: number; hash: string }): Promise<void> {
    await this.pool.query(APPEND_AUDIT_SQL, [origin, rec.seq, rec.hash, JSON.stringify(rec)]);
  }

  async appendAuditBatch(origin: string, recs: Array<{ seq: number; hash: string; json: string }>): Promise<void> {
    if (!recs.length) return;
    await this.pool.query(
      APPEND_AUDIT_BATCH_SQL,
      [origin, recs.map((r) => r.seq), recs.map((r) => r.hash), recs.map((r) => r.json)],
    );
  }

  async searchAudit(f: { actionPrefix: string; person?: string; env?: string; verdict?: string; limit: number }): Promise<unknown[]> {
    const r = await this.pool.query(
      `SELECT record FROM prodguard_state.audit_log
        WHERE starts_with(record->>'action', $1)
          AND ($2::text IS NULL OR record->>'actor' = $2 OR record->'details'->>'user' = $2)
          AND ($3::text IS NULL OR record->>'target' = $3)
          AND ($4::text IS NULL OR record->>'verdict' = $4)
        ORDER BY record->>'time' DESC LIMIT $5`,
      [f.actionPrefix, f.person ?? null, f.env ?? null, f.verdict ?? null, f.limit],
    );
    return r.rows.map((row: { record: unknown }) => row.record);
  }

  async readAudit(origin: string): Promise<AnchoredAudit[]> {
    return (await this.pool.query(READ_AUDIT_SQL, [origin])).rows as AnchoredAudit[];
  }

  async readDisplacedAudit(origin: string): Promise<AnchoredAudit[]> {
    return (await this.pool.query(READ_DISPLACED_AUDIT_SQL, [origin])).rows as AnchoredAudit[];
  }

  async auditOrigins(): Promise<AuditOrigin[]> {
    const rows = (await this.pool.query(AUDIT_ORIGINS_SQL)).rows as Array<{ origin: string; rows: number; first_seq: number; last_seq: number; first_record: unknown }>;
    return rows.map((r) => ({ origin: r.origin, rows: r.rows, firstSeq: r.first_seq, lastSeq: r.last_seq, firstRecord: r.first_record }));
  }

  async readAuditRow(origin: string, seq: number): Promise<AnchoredAudit | null> {
    return ((await this.pool.query(READ_AUDIT_ROW_SQL, [origin, seq])).rows[0] as AnchoredAudit | undefined) ?? null;
  }

  async readPolicyAnchors(): Promise<unknown[]> {
    return (await this.pool.query(READ_POLICY_ANCHORS_SQL)).rows.map((row: { record: unknown }) => row.record);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
