/**
 * Shared setup for the backup tests: one real cluster with a small seeded database, one real
 * S3-compatible server (s3rver) on 127.0.0.1, a project whose config backs up to a local folder
 * and to that S3 bucket, and a fresh age key pair.
 */
import { after, before } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { generateKeyPair } from '../../src/backup/encryption.js';
import { makeProject, runCli, type CliResult } from '../helpers/cli.js';
import { createDatabase, sql } from '../helpers/pg.js';
import { createCluster, type Cluster } from '../../src/pg/cluster.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => { run(): Promise<{ port: number }>; close(): Promise<void> };

export const SEED_SQL = `
CREATE SCHEMA shop;
CREATE TABLE shop.customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE, created timestamptz DEFAULT '2026-01-01');
CREATE TABLE shop.orders (id bigserial PRIMARY KEY, customer_id int REFERENCES shop.customers, total numeric(10,2), note text);
CREATE TABLE public.events (id int, payload jsonb);
CREATE TABLE public."Mixed Case" (k text);
INSERT INTO shop.customers (name, email) SELECT 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 300) g;
INSERT INTO shop.orders (customer_id, total, note) SELECT 1 + g % 300, g * 1.25, repeat(md5(g::text), 3) FROM generate_series(1, 2000) g;
INSERT INTO public.events SELECT g, jsonb_build_object('n', g, 'tag', md5(g::text)) FROM generate_series(1, 500) g;
INSERT INTO public."Mixed Case" VALUES ('a'), ('b');
CREATE VIEW shop.big_orders AS SELECT * FROM shop.orders WHERE total > 100;
`;

export interface BackupFixture {
  dir: string;
  localPath: string;
  s3Dir: string;
  s3Port: number;
  dbUrl: string;
  cluster: Cluster;
  identity: string;
  recipient: string;
  env: Record<string, string>;
  cli(args: string[], extraEnv?: Record<string, string | undefined>): Promise<CliResult>;
  /** Rewrites prodguard.yaml with a different backup section tail (e.g. a wrong S3 port). */
  config(opts?: { s3Port?: number; noEncrypt?: boolean; recipients?: string[]; format?: 'custom' | 'directory' }): string;
  stopS3(): Promise<void>;
  startS3(): Promise<void>;
}

export function backupFixture(name: string, opts: { extraSql?: string } = {}): () => BackupFixture {
  let cluster: Cluster | undefined;
  let fx: BackupFixture | undefined;
  let s3: { close(): Promise<void> } | null = null;
  let project: { dir: string; cleanup(): void };
  before(async () => {
    cluster = await createCluster({ name: 'prodguard-test-backup' });
    const dbUrl = await createDatabase(cluster, name);
    await sql(dbUrl, SEED_SQL);
    if (opts.extraSql) await sql(dbUrl, opts.extraSql);
    const keys = await generateKeyPair();
    const s3Dir = mkdtempSync(join(tmpdir(), 'prodguard-s3rver-'));
    project = makeProject({});
    const localPath = join(project.dir, 'backups');
    const env = {
      PRODUCTION_DATABASE_URL: dbUrl,
      PRODGUARD_AGE_IDENTITY: keys.identity,
      S3_KEY: 'S3RVER',
      S3_SECRET: 'S3RVER',
    };
    const f: BackupFixture = {
      dir: project.dir,
      localPath,
      s3Dir,
      s3Port: 0,
      dbUrl,
      cluster,
      identity: keys.identity,
      recipient: keys.recipient,
      env,
      cli: (args, extraEnv = {}) => runCli(args, { cwd: project.dir, env: { ...env, ...extraEnv } }),
      config(o = {}) {
        const port = o.s3Port ?? f.s3Port;
        const recips = o.recipients ?? [keys.recipient];
        const text = `version: 1
project:
  name: acme
environments:
  production:
    kind: production
    urlEnv: PRODUCTION_DATABASE_URL
backup:
  format: ${o.format ?? 'custom'}
  jobs: 2
  encryption:
    recipients: [${recips.join(', ')}]
    noEncrypt: ${o.noEncrypt ? 'true' : 'false'}
  retention:
    daily: 2
    weekly: 0
    monthly: 0
    minAge: 0s
  destinations:
    - name: local
      type: local
      path: backups
    - name: s3
      type: s3
      bucket: b
      prefix: prodguard
      endpoint: http://127.0.0.1:${port}
      accessKeyIdEnv: S3_KEY
      secretAccessKeyEnv: S3_SECRET
`;
        require('node:fs').writeFileSync(join(project.dir, 'prodguard.yaml'), text);
        return text;
      },
      async startS3() {
        const server = new S3rver({ port: f.s3Port, address: '127.0.0.1', directory: s3Dir, silent: true, configureBuckets: [{ name: 'b' }] });
        const addr = await server.run();
        f.s3Port = addr.port;
        s3 = server;
      },
      async stopS3() {
        await s3?.close();
        s3 = null;
      },
    };
    await f.startS3();
    f.config();
    fx = f;
  });
  after(async () => {
    await s3?.close();
    if (fx) rmSync(fx.s3Dir, { recursive: true, force: true });
    project?.cleanup();
    await cluster?.destroy();
  });
  return () => {
    if (!fx) throw new Error('fixture not ready');
    return fx;
  };
}
