/**
 * The receiver's spool between two shipper runs: right after a segment switch the completed
 * segment is still in the spool (the shipper runs every few hundred ms, slower on a loaded host)
 * while the receiver already writes the next one as .partial. A restore to "just now" must use
 * the completed segment from the spool, not report a gap; a target ahead of the archive says the
 * archive has not caught up yet and what to do. (Found as a flaky demo chapter under load.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { sharedCluster, sql } from '../helpers/pg.js';
import { pitrProject, commitRow } from './pitr-helpers.js';
import { contextFrom } from '../../src/context.js';
import { loadConfig } from '../../src/config/load.js';
import { makeServerDir } from '../../src/pg/cluster.js';
import { startStreaming } from '../../src/restore/pitr/stream.js';
import { pitrRestore, parseTarget } from '../../src/restore/pitr/restore.js';

const cluster = sharedCluster({ name: 'prodguard-pitr-spool' });

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a completed segment not yet shipped is used from the spool, not reported as a gap; a target ahead of the archive says it has not caught up', async (t) => {
  const c = cluster();
  const p = await pitrProject(c, 'streaming');
  t.after(p.cleanup);
  const cli = (args: string[]) => runCli(args, { cwd: p.dir, env: p.env });
  const en = await cli(['pitr', 'enable', '--env', 'production']);
  assert.equal(en.code, 0, en.stderr);
  const ctx = contextFrom(loadConfig({ cwd: p.dir }));
  t.after(() => ctx.close());
  // The shipper effectively off: the state a loaded host is in between two of its runs.
  const h = await startStreaming(ctx, 'production', { env: p.env, intervalMs: 3_600_000 });
  t.after(() => h.stop());
  const url = c.url();
  await sql(url, 'CREATE TABLE ledger (id int PRIMARY KEY)');
  assert.equal((await cli(['pitr', 'base-backup', '--env', 'production'])).code, 0);
  await commitRow(url, 1);
  const second = await commitRow(url, 2);
  await sql(url, 'SELECT pg_sleep(0.3)');
  const [{ name }] = await sql<{ name: string }>(url, 'SELECT pg_walfile_name(pg_switch_wal()) AS name');
  await commitRow(url, 3);
  const [{ lsn }] = await sql<{ lsn: string }>(url, 'SELECT pg_current_wal_lsn()::text AS lsn');
  await until(`${name} is complete in the spool and the receiver flushed past ${lsn}`, async () => {
    if (!readdirSync(h.spool).includes(name)) return false;
    const [row] = await sql<{ ok: boolean }>(url, `SELECT coalesce(bool_or(flush_lsn >= '${lsn}'::pg_lsn), false) AS ok FROM pg_stat_replication`);
    return row.ok;
  });
  assert.ok(readdirSync(h.spool).some((f) => f.endsWith('.partial')), 'the next segment is in progress');

  const to = join(makeServerDir('pg-pitr-spool-restore'), 'data');
  t.after(() => rmSync(join(to, '..'), { recursive: true, force: true }));
  const target = new Date(new Date(second).getTime() + 100).toISOString().replace('T', ' ');
  const progress: string[] = [];
  const r = await pitrRestore(ctx, { environment: 'production', target: parseTarget({ time: target }), to, keepRunning: true, env: p.env, onProgress: (l) => progress.push(l) });
  try {
    assert.match(progress.join('\n'), new RegExp(`using segment ${name} from the streaming receiver's spool \\(complete, not yet shipped\\)`));
    const rows = await sql<{ id: number }>(r.cluster!.url(), 'SELECT id FROM ledger ORDER BY id');
    assert.deepEqual(rows.map((x) => x.id), [1, 2]);
  } finally {
    await r.cluster!.destroy();
    rmSync(r.cluster!.baseDir, { recursive: true, force: true });
  }

  // A target after everything the archive and the spool hold: not a gap, "not caught up yet", with what to do.
  const future = new Date(Date.now() + 3_600_000).toISOString().replace('T', ' ');
  const to2 = join(makeServerDir('pg-pitr-spool-future'), 'data');
  t.after(() => rmSync(join(to2, '..'), { recursive: true, force: true }));
  await assert.rejects(
    pitrRestore(ctx, { environment: 'production', target: parseTarget({ time: future }), to: to2, env: p.env }),
    (err: Error) => {
      assert.doesNotMatch(err.message, /gap/);
      assert.match(err.message, /has not caught up yet.*pitr status/);
      return true;
    },
  );

  // A ship asked for while one runs is not lost in it: the completed segment reaches the archive.
  const shipped = (await Promise.all([h.shipNow(), h.shipNow()])).flat();
  assert.ok(shipped.includes(name), `${name} shipped (got ${shipped.join(',')})`);
});
