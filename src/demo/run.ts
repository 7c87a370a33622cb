/**
 * `prodguard demo`: a local "production" and "staging" cluster, a seeded small SaaS, a demo
 * project (Supabase layout + prodguard.yaml), then every chapter in src/demo/chapters, then the
 * scorecard. Everything is removed afterwards unless --keep.
 */
import { ensureGitignore } from '../init/gitignore.js';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { createCluster, stopLiveClustersSync, type Cluster } from '../pg/cluster.js';
import { humanAge, humanDuration } from '../status/units.js';
import { withClient } from '../pg/client.js';
import { contextFrom, type Context } from '../context.js';
import { loadConfig } from '../config/load.js';
import { DEMO_SCHEMA_SQL } from './sql/schema.js';
import { DEMO_SEED_SQL } from './sql/seed.js';
import { chapters as allChapters } from './chapters/index.js';
import type { DemoChapter, DemoContext } from './types.js';
import type { ScorecardResult } from '../status/scorecard.js';
import { UsageError, errorMessage } from '../errors.js';
import { ensureCertificate } from '../gateway/tls.js';
import { formatScorecard, runScorecard } from '../status/scorecard.js';

export const DEMO_PRODUCTION_REF = 'qwikkerprod';
export const DEMO_STAGING_REF = 'qwikkerstaging';

export interface DemoOptions {
  keep?: boolean;
  /** Only these chapter ids (default: all). */
  only?: string[];
  /** Where the story goes (stderr when printing JSON to stdout). */
  write?: (line: string) => void;
  /** Pause for Enter between chapters; only ever on a terminal (default true; --no-pause). */
  pause?: boolean;
}

export interface DemoResult {
  ok: boolean;
  projectDir: string;
  chapters: Array<{ id: string; title: string; ok: boolean; error?: string; ms: number }>;
  scorecard: ScorecardResult | null;
  kept: boolean;
  /** The one directory holding the project, the keys, every temp dir and cluster of the demo. */
  root: string;
  /** The clusters' directories (removed afterwards unless kept). */
  clusterDirs: string[];
  connections?: Record<string, string>;
}

function demoConfig(serverDir: string): Record<string, unknown> {
  return {
    version: 1,
    // The gateway's TLS key lives on the gateway's host, not in the repository.
    gateway: { tlsCert: join(serverDir, 'gateway.crt'), tlsKey: join(serverDir, 'gateway.key') },
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

function writeProject(dir: string, serverDir: string) {
  mkdirSync(join(dir, 'supabase/migrations'), { recursive: true });
  mkdirSync(join(dir, 'supabase/.temp'), { recursive: true });
  writeFileSync(join(dir, 'supabase/config.toml'), `project_id = "qwikker"\n\n[db]\nport = 54322\nmajor_version = 15\n`);
  // `supabase link --project-ref qwikkerprod` was run here once: --linked means production.
  writeFileSync(join(dir, 'supabase/.temp/project-ref'), DEMO_PRODUCTION_REF);
  writeFileSync(join(dir, 'supabase/migrations/20260101000000_init.sql'), DEMO_SCHEMA_SQL.trim() + '\n');
  writeFileSync(join(dir, 'prodguard.yaml'), '# yaml-language-server: $schema=./prodguard.schema.json\n' + stringifyYaml(demoConfig(serverDir)));
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

/** Waits for Enter on a terminal; a non-terminal (CI, pipes, tests) never waits. */
function pauser(enabled: boolean, write: (l: string) => void): (next: string) => Promise<void> {
  const tty = enabled && !!process.stdin.isTTY && (!!process.stdout.isTTY || !!process.stderr.isTTY);
  return async (next) => {
    if (!tty) return;
    write(`\n  ⏎  press Enter for: ${next}   (Ctrl-C stops and cleans up; --no-pause runs straight through)`);
    await new Promise<void>((resolve) => {
      const rl = createInterface({ input: process.stdin });
      rl.once('line', () => {
        rl.close();
        resolve();
      });
    });
  };
}

export async function runDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const write = opts.write ?? ((l: string) => process.stdout.write(l + '\n'));
  const unknown = (opts.only ?? []).filter((id) => !allChapters.some((c) => c.id === id));
  if (unknown.length) throw new UsageError(`unknown demo chapter(s): ${unknown.join(', ')}; chapters: ${allChapters.map((c) => c.id).join(', ')}`, 'demo.unknown-chapter');
  const pause = pauser(opts.pause !== false, write);
  const cleanups: Array<() => Promise<void> | void> = [];
  const savedEnv = { ...process.env };
  const startCwd = process.cwd();
  const started = Date.now();
  // One root for everything the demo creates: the project, the people's keys, the gateway's key,
  // and — through TMPDIR — every temp dir and throw-away cluster the layers make. Removing it
  // removes all of it, also on Ctrl-C. Clusters inside run as postgres: it must traverse the root.
  const root = mkdtempSync(join(tmpdir(), 'prodguard-demo-'));
  chmodSync(root, 0o711);
  const projectDir = join(root, 'qwikker');
  const keysDir = join(root, 'home/.config/prodguard/keys');
  const serverDir = join(root, 'gateway-host');
  const tmp = join(root, 'tmp');
  mkdirSync(projectDir, { mode: 0o700 });
  mkdirSync(keysDir, { recursive: true, mode: 0o700 });
  mkdirSync(serverDir, { mode: 0o700 });
  mkdirSync(tmp);
  chmodSync(tmp, 0o711);
  process.env.TMPDIR = tmp;
  // Ctrl-C (or a kill): the clusters are stopped first, then the root is removed — synchronously,
  // in the exit handler, because nothing asynchronous runs after process.exit.
  const onExit = () => {
    if (opts.keep) return;
    stopLiveClustersSync();
    rmSync(root, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    write(`\n${sig}: stopping the demo's clusters and removing ${root}`);
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let production: Cluster | undefined;
  let staging: Cluster | undefined;
  let ctx: Context | undefined;
  const result: DemoResult = { ok: true, projectDir, root, chapters: [], scorecard: null, kept: !!opts.keep, clusterDirs: [] };
  try {
    write('prodguard demo — a small SaaS ("qwikker", 300 paying businesses) with a production and a staging database.');
    write('Everything runs on this machine: two local PostgreSQL clusters stand in for the hosted ones, and is removed at the end.');
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
    write(`  staging     ${staging.host}:${staging.port}/qwikker — same schema, no customer data (a replica of production's schema)`);

    ensureCertificate(serverDir);
    writeProject(projectDir, serverDir);
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
    write(`  keys        ${keysDir} (each person's private key, outside the repository)`);

    const demo: DemoContext = {
      projectDir,
      ctx,
      production,
      staging,
      env,
      keep: !!opts.keep,
      keysDir,
      state: {},
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
      await pause(`chapter ${i + 1} of ${selected.length}, ${chapter.id}`);
      write(`\n━━ Chapter ${i + 1} of ${selected.length} (${chapter.id}): ${chapter.title} ━━`);
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

    await pause('the scorecard');
    write('\n━━ Scorecard: prodguard status ━━');
    result.scorecard = await runScorecard(demo.ctx);
    write(formatScorecard(result.scorecard));
    const age = Date.now() - started;
    const cfg = demo.ctx.loaded.config;
    write(`\nBe suspicious of the green: everything above was created ${humanAge(age).replace(/ ago$/, '')} ago by this demo, so every age is minutes at most.`);
    write(`In your project the same checks turn red on their own: no verified backup newer than backup.maxAge (${cfg.backup.maxAge}), no passing drill within drills.interval (${cfg.drills.interval}), a schedule that stopped running, a staging that fell behind.`);
    write('The two backup places here are a local folder and a local S3 stand-in (s3rver on 127.0.0.1); in your project they are two providers, and rule 2 checks they are independent.');
    write(`\nThe whole story took ${humanDuration(age)}. Next, in your own project (see README "Using it in your project"; prodguard is not on npm yet: npm pack in a clone, then npm i -D ./prodguard-x.y.z.tgz):`);
    write('  npx prodguard init                  # detects supabase/ or migrations/, offers the URL variables it finds in .env*, writes prodguard.yaml');
    write('  npx prodguard install claude-code   # (or cursor, gemini) the guard in front of your agent');
    write('  npx prodguard status                # what is still missing, rule by rule');
    if (opts.keep) {
      result.connections = { production: prodUrl, staging: stagingUrl, local: localUrl };
      write(`\nKept running (--keep). Connect with:\n  psql '${prodUrl}'   # production\n  psql '${stagingUrl}'   # staging`);
      write(`Project: ${projectDir}  (cd there and run prodguard commands; export the URLs above as PRODUCTION_DATABASE_URL / STAGING_DATABASE_URL / LOCAL_DATABASE_URL = '${localUrl}')`);
      write(`Stop the clusters with: pg_ctl -D ${production.dataDir} stop; pg_ctl -D ${staging.dataDir} stop${production.osUser ? ' (as the postgres user)' : ''}; then rm -rf ${root}`);
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
      rmSync(root, { recursive: true, force: true });
    }
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
    Object.assign(process.env, savedEnv);
  }
}
