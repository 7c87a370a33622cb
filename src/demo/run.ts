/**
 * `prodguard demo`: a local "production" and "staging" cluster, a seeded small SaaS, a demo
 * project (Supabase layout + prodguard.yaml), then every chapter in src/demo/chapters, then the
 * scorecard. Everything is removed afterwards unless --keep.
 */
import { ensureGitignore } from '../init/gitignore.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { createCluster, type Cluster } from '../pg/cluster.js';
import { withClient } from '../pg/client.js';
import { contextFrom, type Context } from '../context.js';
import { loadConfig } from '../config/load.js';
import { DEMO_SCHEMA_SQL } from './sql/schema.js';
import { DEMO_SEED_SQL } from './sql/seed.js';
import { chapters as allChapters } from './chapters/index.js';
import type { DemoChapter, DemoContext } from './types.js';
import type { ScorecardResult } from '../status/scorecard.js';
import { UsageError, errorMessage } from '../errors.js';

export const DEMO_PRODUCTION_REF = 'qwikkerprod';
export const DEMO_STAGING_REF = 'qwikkerstaging';

export interface DemoOptions {
  keep?: boolean;
  /** Only these chapter ids (default: all). */
  only?: string[];
  /** Where the story goes (stderr when printing JSON to stdout). */
  write?: (line: string) => void;
}

export interface DemoResult {
  ok: boolean;
  projectDir: string;
  chapters: Array<{ id: string; title: string; ok: boolean; error?: string; ms: number }>;
  scorecard: ScorecardResult | null;
  kept: boolean;
  /** The clusters' directories (removed afterwards unless kept). */
  clusterDirs: string[];
  connections?: Record<string, string>;
}

function demoConfig(): Record<string, unknown> {
  return {
    version: 1,
    project: { name: 'qwikker', layout: 'supabase', migrationsDir: 'supabase/migrations' },
    environments: {
      local: { kind: 'local', urlEnv: 'LOCAL_DATABASE_URL', label: 'local dev' },
      staging: { kind: 'staging', urlEnv: 'STAGING_DATABASE_URL', supabaseRef: DEMO_STAGING_REF, label: 'qwikker-staging' },
      production: { kind: 'production', urlEnv: 'PRODUCTION_DATABASE_URL', supabaseRef: DEMO_PRODUCTION_REF, label: 'qwikker-prod' },
    },
    team: [
      { name: 'alice', email: 'alice@qwikker.example', role: 'senior', publicKey: null },
      { name: 'bob', email: 'bob@qwikker.example', role: 'senior', publicKey: null },
      { name: 'dev', email: 'dev@qwikker.example', role: 'developer', publicKey: null },
    ],
    drills: {
      interval: '7d',
      smokeTests: [
        { name: '300 businesses exist', sql: 'SELECT count(*) FROM businesses', expect: 300 },
        { name: 'orders are present', sql: 'SELECT count(*) FROM orders', min: 1 },
      ],
    },
    migrations: {
      healthChecks: [{ name: 'businesses readable', sql: 'SELECT count(*) FROM businesses', min: 1 }],
    },
    staging: {
      masking: [
        { table: 'public.customers', column: 'email', strategy: 'email' },
        { table: 'public.customers', column: 'name', strategy: 'name' },
        { table: 'public.customers', column: 'phone', strategy: 'phone' },
        { table: 'public.businesses', column: 'owner_email', strategy: 'email' },
        { table: 'public.orders', column: 'legacy_note', strategy: 'scrub' },
      ],
    },
    runbook: { contacts: [{ name: 'alice', role: 'database owner (24/7)', email: 'alice@qwikker.example' }] },
  };
}

function writeProject(dir: string) {
  mkdirSync(join(dir, 'supabase/migrations'), { recursive: true });
  mkdirSync(join(dir, 'supabase/.temp'), { recursive: true });
  writeFileSync(join(dir, 'supabase/config.toml'), `project_id = "qwikker"\n\n[db]\nport = 54322\nmajor_version = 15\n`);
  // `supabase link --project-ref qwikkerprod` was run here once: --linked means production.
  writeFileSync(join(dir, 'supabase/.temp/project-ref'), DEMO_PRODUCTION_REF);
  writeFileSync(join(dir, 'supabase/migrations/20260101000000_init.sql'), DEMO_SCHEMA_SQL.trim() + '\n');
  writeFileSync(join(dir, 'prodguard.yaml'), '# yaml-language-server: $schema=./prodguard.schema.json\n' + stringifyYaml(demoConfig()));
  ensureGitignore(dir);
}

async function seedHistory(url: string) {
  // Production and staging already have the init migration applied, as `supabase db push` would record it.
  await withClient(url, async (c) => {
    await c.query(`CREATE SCHEMA IF NOT EXISTS supabase_migrations;
      CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text PRIMARY KEY, statements text[], name text);`);
    await c.query(`INSERT INTO supabase_migrations.schema_migrations (version, statements, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [
      '20260101000000',
      [DEMO_SCHEMA_SQL.trim()],
      'init',
    ]);
  });
}

export async function runDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const write = opts.write ?? ((l: string) => process.stdout.write(l + '\n'));
  const unknown = (opts.only ?? []).filter((id) => !allChapters.some((c) => c.id === id));
  if (unknown.length) throw new UsageError(`unknown demo chapter(s): ${unknown.join(', ')}; chapters: ${allChapters.map((c) => c.id).join(', ')}`, 'demo.unknown-chapter');
  const cleanups: Array<() => Promise<void> | void> = [];
  const savedEnv = { ...process.env };
  const startCwd = process.cwd();
  const projectDir = mkdtempSync(join(tmpdir(), 'prodguard-demo-'));
  let production: Cluster | undefined;
  let staging: Cluster | undefined;
  let ctx: Context | undefined;
  const result: DemoResult = { ok: true, projectDir, chapters: [], scorecard: null, kept: !!opts.keep, clusterDirs: [] };
  try {
    write('prodguard demo — a small SaaS ("qwikker", 300 paying businesses) with a production and a staging database.');
    write('Starting two local PostgreSQL clusters …');
    [production, staging] = await Promise.all([
      createCluster({ name: 'prodguard-demo-production', keep: opts.keep, durable: true }),
      createCluster({ name: 'prodguard-demo-staging', keep: opts.keep }),
    ]);
    result.clusterDirs = [production.baseDir, staging.baseDir];
    const prodUrl = production.url('qwikker');
    const stagingUrl = staging.url('qwikker');
    const localUrl = staging.url('qwikker_local');
    await withClient(production.url(), (c) => c.query('CREATE DATABASE qwikker'));
    await withClient(staging.url(), async (c) => {
      await c.query('CREATE DATABASE qwikker');
      await c.query('CREATE DATABASE qwikker_local');
    });
    await withClient(prodUrl, async (c) => {
      await c.query(DEMO_SCHEMA_SQL);
      await c.query(DEMO_SEED_SQL);
    });
    await withClient(stagingUrl, (c) => c.query(DEMO_SCHEMA_SQL));
    await seedHistory(prodUrl);
    await seedHistory(stagingUrl);
    const counts = await withClient(prodUrl, async (c) =>
      (await c.query(`SELECT (SELECT count(*) FROM businesses)::int AS b, (SELECT count(*) FROM customers)::int AS c, (SELECT count(*) FROM orders)::int AS o`)).rows[0] as { b: number; c: number; o: number },
    );
    write(`  production  ${production.host}:${production.port}/qwikker — seeded: ${counts.b} businesses, ${counts.c} customers, ${counts.o} orders`);
    write(`  staging     ${staging.host}:${staging.port}/qwikker — same schema, no customer data`);

    writeProject(projectDir);
    const env: Record<string, string> = {
      PRODUCTION_DATABASE_URL: prodUrl,
      STAGING_DATABASE_URL: stagingUrl,
      LOCAL_DATABASE_URL: localUrl,
    };
    Object.assign(process.env, env);
    process.chdir(projectDir);
    ctx = contextFrom(loadConfig({ cwd: projectDir }));
    await ctx.audit({ action: 'demo.start', command: 'prodguard demo', target: '-', verdict: 'ok', reason: 'demo project created' });
    write(`  project     ${projectDir} (Supabase layout, linked to ${DEMO_PRODUCTION_REF} = production, prodguard.yaml)`);

    const demo: DemoContext = {
      projectDir,
      ctx,
      production,
      staging,
      env,
      keep: !!opts.keep,
      say: (line) => write(line),
      showCommand: (cmd) => write(`\n$ ${cmd}`),
      onCleanup: (fn) => void cleanups.push(fn),
      async updateConfig(mutate) {
        const file = join(projectDir, 'prodguard.yaml');
        const raw = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as Record<string, any>;
        mutate(raw);
        writeFileSync(file, '# yaml-language-server: $schema=./prodguard.schema.json\n' + stringifyYaml(raw));
        const next = contextFrom(loadConfig({ cwd: projectDir }));
        await demo.ctx.close();
        demo.ctx = next;
        ctx = next;
      },
    };

    const selected: DemoChapter[] = opts.only?.length ? allChapters.filter((c) => opts.only!.includes(c.id)) : allChapters;
    for (const [i, chapter] of selected.entries()) {
      write(`\n━━ Chapter ${i + 1}: ${chapter.title} ━━`);
      const t0 = Date.now();
      try {
        await chapter.run(demo);
        result.chapters.push({ id: chapter.id, title: chapter.title, ok: true, ms: Date.now() - t0 });
      } catch (err) {
        result.ok = false;
        const message = errorMessage(err);
        write(`✗ chapter "${chapter.id}" failed: ${message}`);
        result.chapters.push({ id: chapter.id, title: chapter.title, ok: false, error: message, ms: Date.now() - t0 });
      }
    }

    write('\n━━ Scorecard: prodguard status ━━');
    const { runScorecard, formatScorecard } = await import('../status/scorecard.js');
    result.scorecard = await runScorecard(demo.ctx);
    write(formatScorecard(result.scorecard));
    if (opts.keep) {
      result.connections = { production: prodUrl, staging: stagingUrl, local: localUrl };
      write(`\nKept running (--keep). Connect with:\n  psql '${prodUrl}'   # production\n  psql '${stagingUrl}'   # staging`);
      write(`Project: ${projectDir}  (cd there and run prodguard commands; export the URLs above as PRODUCTION_DATABASE_URL / STAGING_DATABASE_URL / LOCAL_DATABASE_URL = '${localUrl}')`);
      write(`Stop the clusters with: pg_ctl -D ${production.dataDir} stop; pg_ctl -D ${staging.dataDir} stop${production.osUser ? ' (as the postgres user)' : ''}`);
    }
    return result;
  } finally {
    process.chdir(startCwd);
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch {
        /* best effort: the rest must still be cleaned */
      }
    }
    await ctx?.close().catch(() => {});
    if (!opts.keep) {
      await production?.destroy();
      await staging?.destroy();
      rmSync(projectDir, { recursive: true, force: true });
    }
    for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
    Object.assign(process.env, savedEnv);
  }
}
