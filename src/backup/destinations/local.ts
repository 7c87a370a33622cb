/**
 * Local filesystem destination (a mounted disk, NFS share, …). Objects are written to a temp
 * name in the same directory and renamed into place, so a killed process leaves only `.tmp-*`
 * files that are never mistaken for objects (and are removed by `backup prune`).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Destination } from './types.js';

function tmpName(path: string): string {
  return join(dirname(path), `.tmp-${process.pid}-${Math.random().toString(16).slice(2, 8)}-${path.split(sep).pop()}`);
}

export function localDestination(name: string, root: string): Destination {
  const full = (key: string) => join(root, ...key.split('/'));
  return {
    name,
    kind: 'local',
    location: root,
    async putStream(key, body) {
      const path = full(key);
      await mkdir(dirname(path), { recursive: true });
      const tmp = tmpName(path);
      try {
        await pipeline(body, createWriteStream(tmp, { mode: 0o600 }));
        await rename(tmp, path);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    },
    async putBytes(key, body) {
      const path = full(key);
      await mkdir(dirname(path), { recursive: true });
      const tmp = tmpName(path);
      await writeFile(tmp, body, { mode: 0o600 });
      await rename(tmp, path);
    },
    async getStream(key) {
      const path = full(key);
      try {
        await stat(path);
      } catch {
        return null;
      }
      // 1 MiB reads: a table streams through hashing and decryption in fewer, larger pieces.
      return createReadStream(path, { highWaterMark: 1 << 20 });
    },
    async getBytes(key) {
      try {
        return await readFile(full(key));
      } catch {
        return null;
      }
    },
    async exists(key) {
      try {
        return (await stat(full(key))).isFile();
      } catch {
        return false;
      }
    },
    async list(prefix) {
      const base = full(prefix);
      const out: Array<{ key: string; bytes: number; modified: Date }> = [];
      async function walk(dir: string) {
        let entries;
        try {
          entries = await readdir(dir, { withFileTypes: true });
        } catch {
          return;
        }
        for (const e of entries) {
          const p = join(dir, e.name);
          if (e.isDirectory()) await walk(p);
          else if (e.isFile()) {
            const s = await stat(p);
            out.push({ key: relative(root, p).split(sep).join('/'), bytes: s.size, modified: s.mtime });
          }
        }
      }
      await walk(base);
      return out;
    },
    async delete(key) {
      const path = full(key);
      await rm(path, { force: true });
      // Remove now-empty folders up to the root so the layout stays tidy.
      let dir = dirname(path);
      while (dir.startsWith(root) && dir !== root) {
        try {
          await rmdir(dir);
        } catch {
          break;
        }
        dir = dirname(dir);
      }
    },
    async close() {},
  };
}
