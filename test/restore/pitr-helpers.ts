/** Shared setup for the PITR tests: a project whose production is a real throw-away cluster. */
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { makeProject, minimalConfig } from '../helpers/cli.js';
import type { Cluster } from '../../src/pg/cluster.js';
import { sql } from '../helpers/pg.js';

export async function pitrProject(cluster: Cluster, method: 'archive-command' | 'streaming', destinations = '') {
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  const project = makeProject({
    'prodguard.yaml': minimalConfig(`backup:
  encryption:
    recipients: [${recipient}]
${destinations}pitr:
  method: ${method}
  walDir: wal-archive
`),
  });
  // archive_command runs as the server's OS user (postgres when we are root): it must read the config.
  chmodSync(project.dir, 0o755);
  const env = { PRODUCTION_DATABASE_URL: cluster.url(), PRODGUARD_AGE_IDENTITY: identity };
  return { ...project, env, identity, storeDir: join(project.dir, 'wal-archive', 'production') };
}

/** Switches to a new WAL segment and waits until the finished one is archived; returns its name. */
export async function switchAndWaitArchived(url: string, timeoutMs = 60_000): Promise<string> {
  const [{ name }] = await sql<{ name: string }>(url, 'SELECT pg_walfile_name(pg_switch_wal()) AS name');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await sql<{ last: string | null; failed: string | null }>(url, 'SELECT last_archived_wal AS last, last_failed_wal AS failed FROM pg_stat_archiver');
    if (row.last && row.last >= name) return name;
    if (Date.now() > deadline) throw new Error(`segment ${name} not archived in time (last ${row.last}, failed ${row.failed})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Inserts one row in its own transaction and returns the server's clock right after the commit. */
export async function commitRow(url: string, id: number, xids?: Map<number, string>): Promise<string> {
  const [{ xid }] = await sql<{ xid: string }>(url, 'INSERT INTO ledger(id) VALUES ($1) RETURNING pg_current_xact_id()::text AS xid', [id]);
  xids?.set(id, xid);
  const [{ t }] = await sql<{ t: string }>(url, `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS t`);
  return t;
}
