import { createCluster } from '../../src/pg/cluster.js';
import { gatewayFixture } from './fixture.js';
import pg from 'pg';
const cluster = await createCluster({ name: 'smoke' });
const f = await gatewayFixture(cluster, 'dbg');
for (const [label, url, ssl] of [['wrongpw', f.url('dave').replace('dave-password-1234', 'wrong-password'), true], ['unknown', f.url('dave').replace('dave:', 'mallory:'), true], ['plain', f.url('dave','disable'), false], ['db', f.url('dave').replace('/dbg_prod', '/postgres'), true]] as const) {
  const c = new pg.Client({ connectionString: url.replace(/\?sslmode=\w+/, ''), ssl: ssl ? { rejectUnauthorized: false } : false, connectionTimeoutMillis: 3000 });
  c.on('error', () => {});
  try { await c.connect(); console.log(label, 'connected?!'); await c.end(); } catch (e: any) { console.log(label, e.code, e.message); }
}
await f.stop(); await cluster.destroy();
