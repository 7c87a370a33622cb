/**
 * One real throw-away PostgreSQL cluster per test file (shared by its tests), stopped and
 * removed in `after` and on process exit even when a test fails.
 */
import { after, before } from 'node:test';
import { createCluster, type Cluster, type ClusterOptions } from '../../src/pg/cluster.js';
import { withClient } from '../../src/pg/client.js';

/** Starts a cluster before the file's tests; returns a getter (the cluster exists only after `before`). */
export function sharedCluster(opts: ClusterOptions = {}): () => Cluster {
  let cluster: Cluster | undefined;
  before(async () => {
    cluster = await createCluster({ name: 'prodguard-test', ...opts });
  });
  after(async () => {
    await cluster?.destroy();
  });
  return () => {
    if (!cluster) throw new Error('cluster not started yet (use it inside a test)');
    return cluster;
  };
}

/** Runs SQL on a URL and returns the rows. */
export async function sql<T = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  return withClient(url, async (c) => (await c.query(text, params)).rows as T[]);
}

/** Creates a database on the cluster and returns its URL. */
export async function createDatabase(cluster: Cluster, name: string): Promise<string> {
  await sql(cluster.url(), `CREATE DATABASE "${name}"`);
  return cluster.url(name);
}
