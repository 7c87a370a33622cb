/**
 * The default state store: one SQLite file under .prodguard/. WAL mode and a busy timeout let
 * several CLI processes (a cron backup, a developer's `status`, the hook) use it at once without
 * corrupting it or failing with SQLITE_BUSY.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ListOptions, StateStore, StoredDoc } from './store.js';
import { ProdguardError, errorMessage } from '../errors.js';
import { requireRegularFile } from '../security/private-file.js';

/** The store's own schema, versioned; each entry runs once, in order, inside a transaction. */
export const SQLITE_MIGRATIONS: string[] = [
  `CREATE TABLE documents (
     collection TEXT NOT NULL,
     id TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     body TEXT NOT NULL,
     PRIMARY KEY (collection, id)
   );
   CREATE INDEX documents_by_time ON documents (collection, created_at);
   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
];

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class SqliteStore implements StateStore {
  readonly kind = 'sqlite' as const;
  readonly location: string;
  private db: Database.Database;

  constructor(file: string) {
    this.location = file;
    if (file !== ':memory:') {
      requireRegularFile(file, 'the state store (state.path)');
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      // Owner-only: the state holds change records, grants and the backup catalog. Created 0600
      // before SQLite opens it (SQLite would use the umask), the -wal/-shm files fixed after.
      closeSync(openSync(file, 'a', 0o600));
      chmodSync(file, 0o600);
    }
    try {
      this.db = new Database(file, { timeout: 10_000 });
      if (file !== ':memory:') for (const extra of [`${file}-wal`, `${file}-shm`]) if (existsSync(extra)) chmodSync(extra, 0o600);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      this.migrate();
    } catch (err) {
      throw new ProdguardError(`cannot open state store ${file}: ${errorMessage(err)}`, { code: 'store.open', cause: err });
    }
  }

  private migrate() {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    if (current > SQLITE_MIGRATIONS.length) {
      throw new Error(`state store schema version ${current} is newer than this prodguard (${SQLITE_MIGRATIONS.length}); upgrade prodguard`);
    }
    for (let v = current; v < SQLITE_MIGRATIONS.length; v++) {
      // BEGIN IMMEDIATE: two processes opening a fresh store must not both migrate.
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const now = this.db.pragma('user_version', { simple: true }) as number;
        if (now === v) {
          this.db.exec(SQLITE_MIGRATIONS[v]);
          this.db.pragma(`user_version = ${v + 1}`);
        }
        this.db.exec('COMMIT');
      } catch (err) {
        this.db.exec('ROLLBACK');
        throw err;
      }
    }
  }

  schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  async put<T extends object>(collection: string, id: string, doc: T): Promise<void> {
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO documents (collection, id, created_at, updated_at, body) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (collection, id) DO UPDATE SET updated_at = excluded.updated_at, body = excluded.body`,
      )
      .run(collection, id, now, now, JSON.stringify(doc));
  }

  async get<T extends object>(collection: string, id: string): Promise<T | null> {
    const row = this.db.prepare('SELECT body FROM documents WHERE collection = ? AND id = ?').get(collection, id) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as T) : null;
  }

  async list<T extends object>(collection: string, opts: ListOptions = {}): Promise<StoredDoc<T>[]> {
    const params: unknown[] = [collection];
    let sql = 'SELECT id, created_at, updated_at, body FROM documents WHERE collection = ?';
    for (const [field, value] of Object.entries(opts.where ?? {})) {
      if (!FIELD.test(field)) throw new Error(`bad field name ${field}`);
      if (value === null) sql += ` AND json_extract(body, '$.${field}') IS NULL`;
      else {
        sql += ` AND json_extract(body, '$.${field}') = ?`;
        params.push(typeof value === 'boolean' ? (value ? 1 : 0) : value);
      }
    }
    sql += ` ORDER BY created_at ${opts.order === 'oldest' ? 'ASC' : 'DESC'}, rowid ${opts.order === 'oldest' ? 'ASC' : 'DESC'}`;
    if (opts.limit) sql += ` LIMIT ${Math.floor(opts.limit)}`;
    const rows = this.db.prepare(sql).all(...params) as Array<{ id: string; created_at: string; updated_at: string; body: string }>;
    return rows.map((r) => ({ id: r.id, createdAt: r.created_at, updatedAt: r.updated_at, doc: JSON.parse(r.body) as T }));
  }

  async delete(collection: string, id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM documents WHERE collection = ? AND id = ?').run(collection, id).changes > 0;
  }

  async getMeta(key: string): Promise<string | null> {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
