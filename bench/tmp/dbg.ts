import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { createCluster } from '../../src/pg/cluster.js';
import { withClient } from '../../src/pg/client.js';
import { contextFrom } from '../../src/context.js';
import { loadConfig } from '../../src/config/load.js';
import { createBackup } from '../../src/backup/create.js';
import { openBackupStream } from '../../src/backup/stream-restore.js';
const src = await createCluster({ name: 'dbg-src' });
const dir = mkdtempSync(join(tmpdir(), 'dbg-'));
chmodSync(dir, 0o755);
const identity = await generateIdentity();
writeFileSync(join(dir, 'prodguard.yaml'), `version: 1
environments:
  production: { kind: production, urlEnv: PRODUCTION_DATABASE_URL }
backup:
  encryption: { recipients: [${await identityToRecipient(identity)}] }
  destinations: [{ name: local, type: local, path: backups }]
`);
Object.assign(process.env, { PRODUCTION_DATABASE_URL: src.url(), PRODGUARD_AGE_IDENTITY: identity });
const ctx = contextFrom(loadConfig({ cwd: dir }));
try {
  await withClient(src.url(), async (c) => { await c.query(`CREATE TABLE a AS SELECT g, md5(g::text) FROM generate_series(1,100000) g; CREATE TABLE b AS SELECT g FROM generate_series(1,10) g; CREATE INDEX ON a(g); CREATE SEQUENCE sq; SELECT setval('sq', 42); SELECT lo_from_bytea(0, 'hello'); CREATE SCHEMA "We ird"; CREATE TABLE "We ird"."t a" (x int, y int GENERATED ALWAYS AS (x*2) STORED); INSERT INTO "We ird"."t a"(x) VALUES (1),(2)`); await c.query('CREATE DATABASE t'); });
  const r = await createBackup(ctx, { env: 'production' });
  const w = mkdtempSync(join(tmpdir(), 'dbg-w-'));
  const s = await openBackupStream(ctx, r.id, w, {});
  const rows = await s.restore(src.url('t'), { jobs: 2, onProgress: (l) => console.log(l), onFeed: async (o) => console.log('FEED', o) });
  console.log('ROWS', JSON.stringify(rows)); console.log(await withClient(src.url('t'), (c) => c.query("select (select count(*) from a) a, (select last_value from sq) s, (select convert_from(lo_get(oid),'UTF8') from pg_largeobject_metadata limit 1) lo, (select count(*) from pg_indexes where tablename='a') idx")).then((x) => x.rows));
  await s.close();
} catch (e) { console.log('ERR', e); } finally {
  await ctx.close(); await src.destroy(); rmSync(dir, { recursive: true, force: true });
}
