/**
 * Applying a migration: prodguard's runner (parse first and refuse transaction control, a fresh
 * session per file, statement by statement with SET LOCAL lock_timeout/statement_timeout before
 * every statement, history row in the same transaction) versus `psql -X -q -1 -v ON_ERROR_STOP=1
 * -f` of the same file on the same server, in the same run. Each run gets a fresh database.
 * BENCH_MIGRATE_STATEMENTS sets the file size (default 2,000: 200 tables with an index, a
 * comment and 7 inserts each).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { BenchResult } from './run.js';
import { createCluster } from '../src/pg/cluster.js';
import { withClient } from '../src/pg/client.js';
import { runPgTool } from '../src/pg/run-tool.js';
import { loadConfig } from '../src/config/load.js';
import { readMigrations } from '../src/migrate/files.js';
import { historyTarget } from '../src/migrate/history.js';
import { applyMigrations } from '../src/migrate/apply.js';

/** `npm run bench -- --quick` runs this bench at small sizes: bench/run.ts sets its size variables small (bench/quick.ts). */
export const quickSupported = true;

function migration(statements: number): string {
  const out: string[] = [];
  for (let t = 0; out.length < statements; t++) {
    out.push(`CREATE TABLE t${t} (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
    out.push(`CREATE INDEX t${t}_name_idx ON t${t} (name)`);
    out.push(`COMMENT ON TABLE t${t} IS 'bench table ${t}'`);
    for (let r = 0; r < 7; r++) out.push(`INSERT INTO t${t} (id, name) VALUES (${r}, 'row ${r}')`);
  }
  return out.slice(0, statements).join(';\n') + ';\n';
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

export async function run(): Promise<BenchResult> {
  const n = Number(process.env.BENCH_MIGRATE_STATEMENTS ?? 2000);
  const cluster = await createCluster({ name: 'bench-migrate' });
  const dir = mkdtempSync(join(tmpdir(), 'bench-migrate-'));
  try {
    const sql = migration(n);
    writeFileSync(join(dir, 'file.sql'), sql);
    const project = join(dir, 'project');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(project, 'migrations'), { recursive: true });
    writeFileSync(join(project, 'migrations/0001_bench.sql'), sql);
    writeFileSync(join(project, 'prodguard.yaml'), stringify({ version: 1, environments: { production: { kind: 'production', urlEnv: 'BENCH_MIGRATE_URL' } } }));
    const loaded = loadConfig({ cwd: project });
    const files = readMigrations(loaded).files;
    let db = 0;
    const fresh = async () => {
      const name = `bench_${db++}`;
      await withClient(cluster.url(), (c) => c.query(`CREATE DATABASE ${name}`));
      return cluster.url(name);
    };
    const psql: number[] = [];
    const prodguard: number[] = [];
    for (let i = 0; i < 5; i++) {
      const a = await fresh();
      psql.push(await timed(() => runPgTool('psql', ['-X', '-q', '-1', '-v', 'ON_ERROR_STOP=1', '-f', join(dir, 'file.sql'), `--dbname=${a}`])));
      const b = await fresh();
      prodguard.push(await timed(() => applyMigrations(loaded, b, files, { actor: 'bench', changeHash: 'bench', history: historyTarget(loaded) })));
    }
    const p = Math.min(...psql);
    const g = Math.min(...prodguard);
    const ratio = g / p;
    return {
      name: 'migrate',
      title: 'Applying a migration: prodguard runner vs psql -1 -f',
      goal: 'prodguard apply ≤ 3× psql -1 -f (the price of per-statement timeouts and the refusal check)',
      met: ratio <= 3,
      setup: `one migration file of ${n} statements (CREATE TABLE, CREATE INDEX, COMMENT, INSERTs), each run on a fresh database of one local cluster; best of 5 interleaved runs (the machine is shared: minimums, not means)`,
      rows: [
        { subject: 'psql -X -q -1 -v ON_ERROR_STOP=1 -f (bare)', value: Number(p.toFixed(3)), unit: 's' },
        { subject: 'prodguard applyMigrations (parse + refuse, fresh session, per-statement SET LOCAL timeouts, history row)', value: Number(g.toFixed(3)), unit: 's', note: `${ratio.toFixed(2)}× psql` },
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await cluster.destroy();
  }
}
