/**
 * A backup destination: somewhere objects can be written once, read back, listed and deleted.
 * Keys are relative ("production/<id>/dump.pgcustom.age"); each destination adds its own root.
 */
import type { Readable } from 'node:stream';

export interface Destination {
  readonly name: string;
  readonly kind: 'local' | 's3';
  /** Human description (path or bucket/prefix), no secrets. */
  readonly location: string;
  /** Streams `body` into `key`; a partial write is never visible under `key`. */
  putStream(key: string, body: Readable): Promise<void>;
  /** Small objects (manifests): written atomically. */
  putBytes(key: string, body: Buffer): Promise<void>;
  /** null if the object does not exist. */
  getStream(key: string): Promise<Readable | null>;
  getBytes(key: string): Promise<Buffer | null>;
  exists(key: string): Promise<boolean>;
  /** Every key under `prefix` (recursive), with size and last-modified time. */
  list(prefix: string): Promise<Array<{ key: string; bytes: number; modified: Date }>>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}
