/**
 * The relay frames client messages in place in each chunk it reads (and, on plain sockets, reads
 * into one reused buffer): messages split across reads at any byte — inside the header, inside
 * a statement — several messages in one read, a statement far larger than the read buffer and a
 * result far larger than it must all be judged, relayed and audited exactly as whole messages.
 * The client here writes every message in small pieces with a pause between them, so the gateway
 * reads them one piece at a time.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { sharedCluster } from '../helpers/pg.js';
import { gatewayFixture, type GatewayFixture } from './fixture.js';
import { verifyAuditText } from '../../src/audit/log.js';

/**
 * Makes a connected socket write each chunk in pieces of `piece` bytes (16 kB for large chunks),
 * 1 ms apart, so the gateway reads them one piece at a time; returns the undo. (Installed on the
 * instance after connect: net.Socket's connect() resets an own `write`.)
 */
function splitWrites(sock: Socket, piece: number): () => void {
  const write = Socket.prototype.write;
  const queue: Array<{ data: Buffer; cb?: (err?: Error | null) => void }> = [];
  let draining = false;
  const drain = (): void => {
    const next = queue.shift();
    draining = next !== undefined;
    if (!next) return;
    write.call(sock, next.data, next.cb);
    setTimeout(drain, 1);
  };
  sock.write = ((chunk: Buffer | string, encOrCb?: unknown, cb?: unknown): boolean => {
    const callback = (typeof encOrCb === 'function' ? encOrCb : cb) as ((err?: Error | null) => void) | undefined;
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    const size = data.length > 10_000 ? 16_384 : piece;
    for (let i = 0; i < data.length; i += size) queue.push({ data: data.subarray(i, i + size), cb: i + size >= data.length ? callback : undefined });
    if (!draining) drain();
    return true;
  }) as typeof sock.write;
  return () => {
    sock.write = write;
  };
}

describe('gateway: client messages split across reads, several per read, larger than a read', () => {
  const cluster = sharedCluster();
  let f: GatewayFixture;
  before(async () => {
    f = await gatewayFixture(cluster(), 'gwframe', { requireTls: false }, `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 100) i;`);
  });
  after(async () => {
    await f?.stop();
  });

  for (const piece of [1, 3, 7]) {
    it(`judges, relays and audits statements written ${piece} byte(s) at a time`, async () => {
      const stream = new Socket();
      const url = f.url('dave', 'disable');
      const c = new pg.Client({ connectionString: url.replace(/\?sslmode=\w+/, ''), ssl: false, stream });
      c.on('error', () => {});
      await c.connect();
      const unsplit = splitWrites(stream, piece);
      try {
        const tag = `piece${piece}`;
        assert.equal((await c.query(`SELECT 1 AS ${tag}`)).rows[0][tag], 1);
        // Extended protocol: Parse, Bind, Describe, Execute, Sync in one write, read in pieces.
        assert.equal((await c.query(`SELECT v AS ${tag} FROM t WHERE id = $1`, [7])).rows[0][tag], 'v7');
        const refused = await c.query(`DELETE FROM t WHERE id = 1 /* ${tag} */`).then(
          () => null,
          (e: { code?: string }) => e,
        );
        assert.equal(refused?.code, '25006');
        assert.equal((await c.query(`SELECT count(*)::int AS ${tag} FROM t`)).rows[0][tag], 100, 'the refused DELETE changed nothing and the session goes on');
      } finally {
        unsplit();
        await c.end();
      }
      f.gateway.flushAudit();
      const text = readFileSync(f.auditFile, 'utf8');
      assert.ok(verifyAuditText(text).ok);
      const recs = text.trim().split('\n').map((l) => JSON.parse(l) as { action: string; command: string; verdict: string; details: { rows?: number } });
      const mine = recs.filter((r) => r.action === 'gateway.statement' && r.command.includes(`piece${piece}`));
      assert.deepEqual(
        mine.map((r) => [r.command, r.verdict, r.details.rows]),
        [
          [`SELECT ? AS piece${piece}`, 'allow', 1],
          [`SELECT v AS piece${piece} FROM t WHERE id = $1`, 'allow', 1],
          [`SELECT count(*)::int AS piece${piece} FROM t`, 'allow', 1],
        ],
      );
      // The DELETE's comment is masked away; its refusal sits between the second and third read.
      const at = recs.indexOf(mine[1]);
      assert.deepEqual([recs[at + 1].command, recs[at + 1].verdict], ['DELETE FROM t WHERE id = ? /* … */', 'deny']);
    });
  }

  it('relays a 300 kB statement sent in 16 kB pieces and its 300 kB result, and refuses one over maxStatementBytes', async () => {
    const stream = new Socket();
    const c = new pg.Client({ connectionString: f.url('dave', 'disable').replace(/\?sslmode=\w+/, ''), ssl: false, stream });
    c.on('error', () => {});
    await c.connect();
    const unsplit = splitWrites(stream, 16_384);
    try {
      const big = 'y'.repeat(300_000);
      const r = await c.query(`SELECT length('${big}') AS n, '${big}' AS s`);
      assert.equal(r.rows[0].n, 300_000);
      assert.equal(r.rows[0].s, big);
      const tooBig = await c.query(`SELECT '${'z'.repeat(1_100_000)}' AS s`).then(
        () => null,
        (e: { code?: string }) => e,
      );
      assert.equal(tooBig?.code, '54000');
      assert.equal((await c.query('SELECT 2 AS two')).rows[0].two, 2);
    } finally {
      unsplit();
      await c.end();
    }
  });
});
