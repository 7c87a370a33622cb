/**
 * The restore's COPY worker (src/backup/copy-worker.ts): table data as stored (gzip or plain),
 * handed over in pieces of any size, arrives in the table with the server's row count, several
 * tables one after another on one session; a server error keeps its severity and SQLSTATE (the
 * restore reports it as the database's), data that does not inflate is an error without one (the
 * restore reports the stored object as damaged), and a refused connection is pg.connect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { CopySession } from '../../src/backup/copy-worker.js';
import { sharedCluster, sql, createDatabase } from '../helpers/pg.js';

const cluster = sharedCluster({ name: 'prodguard-copy-worker' });

function copyText(rows: number): Buffer {
  const lines: string[] = [];
  for (let i = 1; i <= rows; i++) lines.push(`${i}\tline ${i} with a tab \\t and a newline \\n ${'x'.repeat(i % 40)}`);
  return Buffer.from(lines.join('\n') + '\n\\.\n');
}

function pieces(b: Buffer, size: number): Readable {
  return Readable.from((function* () {
    for (let i = 0; i < b.length; i += size) yield Buffer.from(b.subarray(i, i + size));
  })());
}

const SESSION = "SET client_encoding = 'UTF8'; SET standard_conforming_strings = on";

test('COPY through the worker: gzip and plain data in any pieces, rows from the server, errors told apart', async () => {
  const db = await createDatabase(cluster(), 'copyworker');
  await sql(db, 'CREATE TABLE a (id int PRIMARY KEY, t text); CREATE TABLE b (id int PRIMARY KEY, t text); CREATE TABLE c (id int PRIMARY KEY, t text)');
  const s = await CopySession.open(db, SESSION);
  try {
    // 20 MB of text inflated from well under 1 MB: more than the worker's in-flight limit, in 1 kB and 64 kB pieces.
    const big = copyText(200_000);
    const one = s.copy('COPY public.a (id, t) FROM stdin', true);
    await pipeline(pieces(gzipSync(big), 1000), one.sink);
    assert.equal(one.rows(), 200_000);
    const two = s.copy('COPY public.b (id, t) FROM stdin', false);
    await pipeline(pieces(copyText(777), 65536), two.sink);
    assert.equal(two.rows(), 777);
    const [counts] = await sql<{ a: string; b: string; t: string }>(db, `SELECT (SELECT count(*) FROM a)::text AS a, (SELECT count(*) FROM b)::text AS b, (SELECT t FROM a WHERE id = 3) AS t`);
    assert.deepEqual(counts, { a: '200000', b: '777', t: 'line 3 with a tab \t and a newline \n xxx' });
  } finally {
    await s.close();
  }

  // The server refuses the data (a duplicate key): the sink fails with the server's severity and SQLSTATE.
  const dup = await CopySession.open(db, SESSION);
  try {
    const c = dup.copy('COPY public.a (id, t) FROM stdin', false);
    await assert.rejects(pipeline(pieces(copyText(10), 100), c.sink), (e: any) => e.severity === 'ERROR' && e.code === '23505');
  } finally {
    await dup.close();
  }
  assert.deepEqual(await sql(db, 'SELECT count(*)::int AS n FROM a'), [{ n: 200_000 }], 'the failed COPY added nothing');

  // Gzip data cut short: an error that is not the server's, and nothing is added.
  const bad = await CopySession.open(db, SESSION);
  try {
    const gz = gzipSync(copyText(5000));
    const c = bad.copy('COPY public.c (id, t) FROM stdin', true);
    await assert.rejects(pipeline(pieces(gz.subarray(0, gz.length - 200), 4096), c.sink), (e: any) => /cannot inflate the data/.test(e.message) && e.severity === undefined);
  } finally {
    await bad.close();
  }
  assert.deepEqual(await sql(db, 'SELECT count(*)::int AS n FROM c'), [{ n: 0 }], 'a table whose data did not inflate whole gets nothing');

  // A server that refuses the login: the connect error, masked, as connect() reports it.
  const refused = db.replace(/^postgresql:\/\/[^@]*@/, 'postgresql://nobody:s3cret@');
  await assert.rejects(CopySession.open(refused, SESSION), (e: any) => e.code === 'pg.connect' && !/s3cret/.test(e.message));
});
