/**
 * `prodguard shadow restore --env production --time T --to <database>`: production as it was just
 * before T, exactly — every transaction production committed before T, none after.
 *
 * 1. find-cut.ts reads production's commit times from the shadow's archived WAL and picks the
 *    recovery target (the COMMIT record of the last production transaction before T);
 * 2. `pitr restore` of the SHADOW's archive to that target builds a throw-away cluster, with logical
 *    replication workers off (the recovered copy still has the subscription: it must never connect
 *    to production and consume its slot); the subscription is then dropped without its slot;
 * 3. sequences are set past every column's maximum (replication does not carry them);
 * 4. the data goes to the target: the whole replicated schema into an empty database, or
 *    `--table` (with `--where`) rows that are missing there (INSERT … ON CONFLICT DO NOTHING:
 *    a surgical repair never overwrites a row); row counts are compared afterwards.
 *
 * Production as a target: only `--table` mode, only under an open break-glass grant of the person
 * running it, and only after a verified backup of production taken by this command.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from '../context.js';
import { connectionUrl } from '../config/connection.js';
import { makeServerDir } from '../pg/cluster.js';
import { watchDirectory } from '../backup/private-dir.js';
import { withClient, quoteIdent } from '../pg/client.js';
import { parseConnInfo } from '../pg/conninfo.js';
import { runPgTool } from '../pg/run-tool.js';
import { toolConn } from '../pg/tool-conn.js';
import { forExistingSchemas } from './dump-sql.js';
import { maskSecrets } from '../security/mask.js';
import { RefusedError, UsageError, errorMessage } from '../errors.js';
import { resolveRestoreTarget } from '../restore/target.js';
import { refuseProductionServer } from '../restore/server-identity.js';
import { parseTarget, pitrRestore } from '../restore/pitr/restore.js';
import { describeTarget } from '../restore/pitr/plan.js';
import { requireShadowState } from './state.js';
import { findCut } from './find-cut.js';
import { advanceSequencesPastMax, type SequenceValue } from './sequences.js';
import { productionRestoreGate } from '../emergency/restore-gate.js';

export interface ShadowRestoreOptions {
  environment: string;
  time: string;
  to: string;
  table?: string;
  where?: string;
  /** Onto production: the break-glass grant holder's private key (emergency/restore-gate.ts). */
  key?: import('node:crypto').KeyObject;
  /** Drills: when the archive has nothing at or after T yet, restore everything it holds. */
  toEnd?: boolean;
  env?: Record<string, string | undefined>;
  onProgress?: (line: string) => void;
}

export interface TableCount {
  table: string;
  source: number;
  target: number;
  inserted?: number;
}

export interface ShadowRestoreResult {
  environment: string;
  time: string;
  target: string;
  mode: 'database' | 'table';
  /** The last production transaction restored / the first one left out (production commit times). */
  lastRestoredCommit: string | null;
  firstExcludedCommit: string | null;
  recoveryTarget: string;
  baseBackup: string;
  counts: TableCount[];
  sequences: SequenceValue[];
  safetyBackupId: string | null;
  durationMs: number;
}

function qualified(table: string): string {
  const parts = table.split('.');
  if (parts.length > 2 || parts.some((p) => !/^[A-Za-z_][A-Za-z0-9_$]*$/.test(p))) throw new UsageError(`--table must be a table name or schema.table, got "${table}"`, 'shadow.bad-table');
  return (parts.length === 1 ? ['public', parts[0]] : parts).map(quoteIdent).join('.');
}

async function countRows(url: string, tables: string[], where?: string): Promise<Map<string, number>> {
  return withClient(url, async (c) => {
    await c.query('BEGIN READ ONLY');
    const out = new Map<string, number>();
    for (const t of tables) out.set(t, Number((await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${t}${where ? ` WHERE ${where}` : ''}`)).rows[0].n));
    await c.query('COMMIT');
    return out;
  });
}

async function ensureRoles(sourceUrl: string, targetUrl: string): Promise<void> {
  const roles = await withClient(sourceUrl, async (c) => (await c.query<{ r: string }>(`SELECT rolname AS r FROM pg_roles WHERE rolname !~ '^pg_'`)).rows.map((x) => x.r));
  await withClient(targetUrl, async (c) => {
    for (const r of roles) {
      if ((await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [r])).rowCount) continue;
      await c.query(`CREATE ROLE ${quoteIdent(r)} NOLOGIN`).catch((err) => {
        throw new RefusedError(`the target lacks role "${r}" (policies and grants name it) and it cannot be created there: ${errorMessage(err)}`, 'shadow.target-roles');
      });
    }
  });
}

export async function shadowRestore(ctx: Context, opts: ShadowRestoreOptions): Promise<ShadowRestoreResult> {
  const started = Date.now();
  const env = opts.env ?? process.env;
  const progress = opts.onProgress ?? (() => {});
  const auditBase = { action: 'shadow.restore', command: `prodguard shadow restore --env ${opts.environment} --time '${opts.time}'${opts.table ? ` --table ${opts.table}` : ''}${opts.where ? ' --where …' : ''}`, target: opts.environment };
  const t = parseTarget({ time: opts.time });
  if (t.kind !== 'time') throw new UsageError('--time is required', 'shadow.target');
  if (opts.where && !opts.table) throw new UsageError('--where needs --table', 'shadow.where-without-table');
  const table = opts.table ? qualified(opts.table) : null;
  let dataRoot: string | null = null;
  let stopWatch: (() => void) | null = null;
  let cluster: import('../pg/cluster.js').Cluster | undefined;
  try {
    const state = await requireShadowState(ctx, opts.environment);
    const target = resolveRestoreTarget(ctx.loaded, opts.to, env);
    let grantId: string | null = null;
    if (target.resolved.kind === 'production') {
      if (!table) throw new RefusedError(`refusing to restore a whole database over production (${target.label}); restore into a new database, or repair rows with --table/--where under break-glass`, 'shadow.production-whole');
      grantId = await productionRestoreGate(ctx, target, true, opts.key);
    }
    if (target.resolved.name === state.shadowEnv) throw new RefusedError('--to is the shadow itself; restore into another database', 'shadow.target-is-shadow');
    // Production by any other spelling (an IPv4-mapped IPv6 address, a socket, another host name):
    // recognised by the server's system identifier, as every other restore path does (red team ag-170).
    if (!grantId) await refuseProductionServer(ctx, target.url, target.label, env);

    progress(`reading production commit times from the shadow's WAL (${state.shadowEnv})`);
    const cut = await findCut(ctx, state.shadowEnv, t.micros, state.originId, env, opts.toEnd);
    progress(`cut: last production commit before T ${cut.lastBefore?.originTime ?? '(none since the base backup)'}, first at/after T ${cut.firstAfter?.originTime ?? '(none yet)'}; recovering the shadow to ${describeTarget(cut.target)}`);

    dataRoot = makeServerDir('prodguard-shadow-restore');
    // A plaintext copy of production: removed on every exit path, kill -9 included (red team ag-177).
    stopWatch = watchDirectory(dataRoot);
    const r = await pitrRestore(ctx, {
      environment: state.shadowEnv,
      target: cut.target,
      to: join(dataRoot, 'data'),
      keepRunning: true,
      env,
      // The copy holds the shadow's subscription: its apply worker must never start.
      settings: { max_logical_replication_workers: 0 },
      onProgress: progress,
    });
    cluster = r.cluster!;
    const shadowInfo = parseConnInfo(connectionUrl(ctx.loaded, state.shadowEnv, env));
    const srcUrl = cluster.url(shadowInfo?.database ?? 'postgres', shadowInfo?.user ?? 'postgres');
    await withClient(srcUrl, async (c) => {
      if ((await c.query('SELECT 1 FROM pg_subscription WHERE subname = $1', [state.subscription])).rowCount) {
        const s = quoteIdent(state.subscription);
        await c.query(`ALTER SUBSCRIPTION ${s} DISABLE`);
        await c.query(`ALTER SUBSCRIPTION ${s} SET (slot_name = NONE)`);
        await c.query(`DROP SUBSCRIPTION ${s}`);
      }
    });
    const sequences = await advanceSequencesPastMax(srcUrl, state.schemas);
    progress(`${sequences.length} sequence(s) set past their columns' maximum`);

    let safetyBackupId: string | null = null;
    const counts: TableCount[] = [];
    if (table) {
      const where = opts.where;
      if (grantId) {
        const { createBackup } = await import('../backup/create.js');
        const b = await createBackup(ctx, { env: target.resolved.name!, reason: `before shadow restore of ${opts.table} rows`, url: target.url });
        safetyBackupId = b.id;
        progress(`backup of ${target.label} first: ${b.id}`);
      }
      const rows = await withClient(srcUrl, async (c) => {
        await c.query('BEGIN READ ONLY');
        const res = (await c.query<{ j: unknown[] | null }>(`SELECT coalesce(json_agg(x), '[]') AS j FROM (SELECT * FROM ${table}${where ? ` WHERE ${where}` : ''}) x`)).rows[0].j ?? [];
        await c.query('COMMIT');
        return res;
      }).catch((err) => {
        throw new RefusedError(`reading ${opts.table} from the recovered copy failed: ${errorMessage(err)}`, 'shadow.read-failed', err);
      });
      const inserted = await withClient(target.url, async (c) => {
        await c.query('BEGIN');
        try {
          const n = (await c.query(`INSERT INTO ${table} SELECT * FROM json_populate_recordset(NULL::${table}, $1::json) ON CONFLICT DO NOTHING`, [JSON.stringify(rows)])).rowCount ?? 0;
          await c.query('COMMIT');
          return n;
        } catch (err) {
          await c.query('ROLLBACK').catch(() => {});
          throw new RefusedError(`writing ${opts.table} rows to ${target.label} failed (nothing written): ${maskSecrets(errorMessage(err))}`, 'shadow.write-failed', err);
        }
      });
      const after = await countRows(target.url, [table], where);
      counts.push({ table, source: rows.length, target: after.get(table)!, inserted });
    } else {
      const tables = state.tables;
      const present = await withClient(target.url, async (c) => (await c.query<{ t: string }>(`SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND format('%I.%I', n.nspname, c.relname) = ANY($1)`, [tables])).rows.map((x) => x.t));
      if (present.length) throw new RefusedError(`the target ${target.label} already has ${present.join(', ')}; a whole restore goes into an empty database (or repair rows with --table)`, 'shadow.target-not-empty');
      await ensureRoles(srcUrl, target.url);
      const sc = toolConn(srcUrl);
      const dump = await runPgTool('pg_dump', ['-d', sc.conn, '--no-owner', '--no-publications', '--no-subscriptions', ...state.schemas.flatMap((s) => ['-n', s])], { env: sc.env });
      const tc = toolConn(target.url);
      const sql = forExistingSchemas(dump.stdout);
      await runPgTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-d', tc.conn, '-f', '-'], { env: tc.env, input: sql }).catch((err) => {
        throw new RefusedError(`loading the recovered data into ${target.label} failed (nothing written: one transaction): ${errorMessage(err)}`, 'shadow.load-failed', err);
      });
      const src = await countRows(srcUrl, tables);
      const dst = await countRows(target.url, tables);
      for (const tb of tables) counts.push({ table: tb, source: src.get(tb)!, target: dst.get(tb)! });
    }
    const mismatch = counts.filter((c) => (table ? c.target < c.source : c.target !== c.source));
    if (mismatch.length) throw new RefusedError(`row counts differ after the copy: ${mismatch.map((m) => `${m.table} ${m.source} recovered, ${m.target} in the target`).join('; ')}`, 'shadow.count-mismatch');
    const result: ShadowRestoreResult = {
      environment: opts.environment,
      time: t.value,
      target: target.label,
      mode: table ? 'table' : 'database',
      lastRestoredCommit: cut.lastBefore?.originTime ?? null,
      firstExcludedCommit: cut.firstAfter?.originTime ?? null,
      recoveryTarget: describeTarget(cut.target),
      baseBackup: cut.baseBackup,
      counts,
      sequences,
      safetyBackupId,
      durationMs: Date.now() - started,
    };
    await ctx.audit({ ...auditBase, verdict: 'ok', reason: `restored ${opts.environment} as of ${t.value} (last commit ${result.lastRestoredCommit ?? '-'}) into ${target.label}: ${counts.map((c) => `${c.table} ${c.target}`).join(', ')}`, details: { recoveryTarget: result.recoveryTarget, safetyBackupId, ...(grantId ? { grant: grantId } : {}) } });
    return result;
  } catch (err) {
    await ctx.audit({ ...auditBase, verdict: 'refused', reason: maskSecrets(errorMessage(err)) }).catch(() => {});
    throw err;
  } finally {
    await cluster?.destroy();
    if (cluster) rmSync(cluster.baseDir, { recursive: true, force: true });
    if (dataRoot) rmSync(dataRoot, { recursive: true, force: true });
    stopWatch?.();
  }
}
