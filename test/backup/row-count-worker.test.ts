/**
 * The row-count worker (src/backup/row-count-worker.ts) gives the exact COPY row count of a data
 * file as pg_dump stores it — gzip (inflated in the worker) or plain — whatever the chunking, for
 * several files at once, with flow control on files larger than its in-flight limit; data that
 * does not end the way pg_dump ends COPY data gives null (the caller then counts in the
 * snapshot), and damaged gzip is an error, never a count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { RowCountWorker } from '../../src/backup/row-count-worker.js';

function copyText(rows: number, trailer: string): Buffer {
  const lines: string[] = [];
  for (let i = 1; i <= rows; i++) lines.push(`${i}\t${i % 7}\tline with an escaped \\n newline and a tab \\t ${'x'.repeat(i % 50)}`);
  return Buffer.from(lines.join('\n') + (rows ? '\n' : '') + trailer);
}

function chunks(b: Buffer, size: number): Readable {
  return Readable.from((function* () {
    for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
  })());
}

async function countWith(w: RowCountWorker, data: Buffer, gzip: boolean, size: number): Promise<number | null> {
  const { sink, rows } = w.count(gzip);
  await pipeline(chunks(data, size), sink);
  return rows;
}

test('exact rows for gzip and plain data files, any chunking, files counted side by side', async () => {
  const w = new RowCountWorker();
  try {
    const cases: Array<[Buffer, number | null]> = [
      [copyText(0, '\\.\n\n\n'), 0],
      [copyText(1, '\\.\n'), 1],
      [copyText(12345, '\\.\n\n\n'), 12345],
      [copyText(5000, '\\.\n'), 5000],
      [copyText(10, ''), null], // not COPY data as pg_dump ends it
    ];
    const jobs: Array<Promise<void>> = [];
    for (const [plain, expected] of cases) {
      for (const size of [1, 7, 4096, 1 << 20]) {
        if (size === 1 && plain.length > 5000) continue;
        jobs.push(countWith(w, gzipSync(plain), true, size).then((n) => assert.equal(n, expected, `gzip, ${plain.length} B in ${size} B chunks`)));
        jobs.push(countWith(w, plain, false, size).then((n) => assert.equal(n, expected, `plain, ${plain.length} B in ${size} B chunks`)));
      }
    }
    await Promise.all(jobs);
  } finally {
    await w.close();
  }
});

test('a file far larger than the in-flight limit is counted exactly (flow control), and damaged gzip is an error', async () => {
  const w = new RowCountWorker();
  try {
    const big = copyText(400_000, '\\.\n\n\n'); // ~30 MB plain
    assert.ok(big.length > 24 << 20);
    assert.equal(await countWith(w, big, false, 1 << 20), 400_000);
    assert.equal(await countWith(w, gzipSync(big, { level: 1 }), true, 64 << 10), 400_000);
    const good = gzipSync(copyText(1000, '\\.\n'));
    const badLength = Buffer.from(good);
    badLength[badLength.length - 2] ^= 0xff; // the trailer's length field
    await assert.rejects(countWith(w, badLength, true, 4096), /row count: gzip length field/);
    await assert.rejects(countWith(w, good.subarray(0, good.length - 3), true, 4096), /row count/); // truncated trailer
    await assert.rejects(countWith(w, good.subarray(0, good.length >> 1), true, 4096), /row count/); // truncated data
    await assert.rejects(countWith(w, Buffer.concat([good, good]), true, 4096), /row count: gzip data is not one complete member/);
    const body = Buffer.from(good);
    body[40] ^= 0xff; // inside the deflate data
    await assert.rejects(countWith(w, body, true, 4096), /row count/);
    // The worker carries on after one file's error.
    assert.equal(await countWith(w, gzipSync(copyText(3, '\\.\n')), true, 2), 3);
  } finally {
    await w.close();
  }
});
