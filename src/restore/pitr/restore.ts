/**
 * `prodguard pitr restore`: builds a NEW cluster at a point in time.
 *
 * 1. plan: newest base backup ending before the target + every WAL segment recovery reads; a
 *    missing segment refuses here, by name, before anything is written;
 * 2. fetch: base tars and segments are decrypted and sha256-checked into the new data directory
 *    and a private WAL spool (all of it is verified before PostgreSQL sees a byte);
 * 3. recover: recovery.signal + restore_command (copies from the verified spool) +
 *    recovery_target_{time|lsn|xid} + recovery_target_action=promote, archiving switched off so
 *    the copy never writes into the production archive;
 * 4. check: wait until the server leaves recovery, read "recovery stopping …" from its log and
 *    pg_last_xact_replay_timestamp(), and refuse when the target was not reached.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Context } from '../../context.js';
import { spawnSync } from 'node:child_process';
import { createCluster, chownForServer, makeServerDir, serverOsUser, type Cluster } from '../../pg/cluster.js';
import { runCommand } from '../../pg/run-tool.js';
import { pgBin } from '../../pg/binaries.js';
import { withClient } from '../../pg/client.js';
import { RefusedError, UsageError, errorMessage } from '../../errors.js';
import { decryptionIdentity } from './crypto.js';
import { openPitrStore, pitrStoreDir } from './store.js';
import { snapshotPartial, withPartial, type PartialSegment } from './partial.js';
import { loadIndex, planRecovery, describeTarget, PlanError, type RecoveryTarget } from './plan.js';
import { parseLsn, parseTimestampMicros, microsToIso } from './wal.js';
import { watchDirectory } from '../../backup/private-dir.js';
import { fatalWithContext, readControlSettings, recoveryServerSettings } from './control-settings.js';

export interface PitrRestoreOptions {
  environment: string;
  target: RecoveryTarget;
  /** New data directory; must not exist or be empty. */
  to: string;
  port?: number;
  /** Leave the restored server running and return it (library use: tests, demo, drills). */
  keepRunning?: boolean;
  env?: Record<string, string | undefined>;
  onProgress?: (line: string) => void;
  /** Extra server settings for the recovered cluster (e.g. the shadow restore keeps logical replication workers off). */
  settings?: Record<string, string | number | boolean>;
}

export interface PitrRestoreResult {
  environment: string;
  target: string;
  dataDir: string;
  port: number;
  logFile: string;
  baseBackup: string;
  segments: number;
  /** The log line in which PostgreSQL says where it stopped. */
  stoppedAt: string;
  lastReplayedCommit: string | null;
  durationMs: number;
  /** Of which: starting PostgreSQL on the restored directory until it left recovery. */
  replayMs: number;
  cluster?: Cluster;
}

/** Parses --time / --lsn / --before-xid into a target; exactly one must be given. */
export function parseTarget(opts: { time?: string; lsn?: string; beforeXid?: string; latest?: boolean }): RecoveryTarget {
  const given = [opts.time, opts.lsn, opts.beforeXid, opts.latest ? true : undefined].filter((v) => v !== undefined);
  if (given.length !== 1) throw new UsageError('give exactly one recovery target: --time, --lsn, --before-xid or --latest', 'pitr.target');
  if (opts.latest) return { kind: 'latest' };
  if (opts.time !== undefined) {
    const micros = parseTimestampMicros(opts.time);
    if (micros === null) throw new UsageError(`--time must be a timestamp with a time zone, e.g. '2026-11-25 10:31:07+00', got "${opts.time}"`, 'pitr.target');
    return { kind: 'time', value: microsToIso(micros).replace('T', ' ').replace(/Z$/, '+00'), micros };
  }
  if (opts.lsn !== undefined) {
    try {
      return { kind: 'lsn', value: opts.lsn, lsn: parseLsn(opts.lsn) };
    } catch (err) {
      throw new UsageError(`--lsn: ${errorMessage(err)}`, 'pitr.target');
    }
  }
  if (!/^\d+$/.test(opts.beforeXid!) || Number(opts.beforeXid) < 3) throw new UsageError(`--before-xid must be a transaction id (a number ≥ 3), got "${opts.beforeXid}"`, 'pitr.target');
  return { kind: 'xid', value: Number(opts.beforeXid) };
}

function recoverySettings(target: RecoveryTarget, spool: string, toEnd: boolean): Record<string, string> {
  const s: Record<string, string> = {
    restore_command: `cp "${spool}/%f" "%p"`,
    recovery_target_action: 'promote',
    recovery_target_timeline: 'latest',
    archive_mode: 'off',
    archive_command: '',
  };
  if (toEnd || target.kind === 'latest') {
    // No target: replay until restore_command has no next segment, then promote.
  } else if (target.kind === 'time') {
    s.recovery_target_time = target.value;
    s.recovery_target_inclusive = 'on';
  } else if (target.kind === 'lsn') {
    s.recovery_target_lsn = target.value;
    s.recovery_target_inclusive = 'on';
  } else {
    s.recovery_target_xid = String(target.value);
    s.recovery_target_inclusive = 'off';
  }
  return s;
}

/** Rewrites postgresql.auto.conf: drops the source's archiving/recovery settings, adds ours (auto.conf wins over postgresql.conf). */
function writeRecoveryConf(dataDir: string, settings: Record<string, string>) {
  const file = join(dataDir, 'postgresql.auto.conf');
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const drop = /^\s*(archive_mode|archive_command|archive_library|restore_command|recovery_target\w*|primary_conninfo|primary_slot_name)\s*=/;
  const kept = old.split('\n').filter((l) => !drop.test(l));
  const added = Object.entries(settings).map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`);
  writeFileSync(file, [...kept.filter((l, i) => l || i < kept.length - 1), '# prodguard pitr restore', ...added, ''].join('\n'));
  writeFileSync(join(dataDir, 'recovery.signal'), '');
}

/**
 * The source's pg_hba.conf asks for passwords prodguard does not hold (any real server: SCRAM), so
 * the recovering server would refuse prodguard's own checks (red team ag-167: a drill waited 30 min
 * on a refused login). While prodguard recovers and checks it, the cluster — listening on loopback
 * and its private socket directory only — trusts local connections; the source's file is put back
 * (same inode, same owner) when the restore ends, and the `hba_file` setting points at this one
 * only for this start.
 */
function loopbackOnlyHba(dataDir: string): () => void {
  const file = join(dataDir, 'pg_hba.conf');
  const original = existsSync(file) ? readFileSync(file) : null;
  writeFileSync(file, '# prodguard pitr restore: loopback and the private socket only, while prodguard recovers and checks this cluster\nlocal all all trust\nhost all all 127.0.0.1/32 trust\n');
  return () => {
    try {
      if (original) writeFileSync(file, original);
    } catch {
      /* the data directory is gone (a throw-away cluster) */
    }
  };
}

/** As root the server runs as postgres: every parent of the data directory must let it through. */
function assertServerCanEnter(dir: string) {
  const user = serverOsUser();
  if (user && spawnSync('runuser', ['-u', user, '--', 'test', '-x', dir]).status !== 0) {
    throw new RefusedError(`the PostgreSQL OS user "${user}" cannot reach ${dir} (a parent directory is not accessible to it); choose a --to under a directory it can enter`, 'pitr.permissions');
  }
}

function assertEmptyTarget(dir: string) {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new RefusedError(`--to ${dir} exists and is not empty; pitr restore only builds new clusters, never over an existing directory`, 'pitr.target-dir-not-empty');
  }
}

/** SQLSTATEs that waiting cannot cure: wrong password or method, no such role or database. */
const CANNOT_CONNECT = new Set(['28P01', '28000', '3D000']);

async function waitForRecoveryEnd(url: string, timeoutMs: number, logFile: string): Promise<{ lastReplay: string | null }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await withClient(url, async (c) =>
      (await c.query<{ rec: boolean; ts: string | null; paused: boolean }>(`SELECT pg_is_in_recovery() AS rec, to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts,
        pg_is_in_recovery() AND pg_get_wal_replay_pause_state() = 'paused' AS paused`)).rows[0],
    ).catch((err: { code?: string; cause?: { code?: string } }) => {
      // "Starting up" passes with time; an authentication refusal never does (it hung the drill for 30 min: red team ag-167).
      const code = err.code ?? err.cause?.code;
      if ((code && CANNOT_CONNECT.has(code)) || /password|SASL/i.test(errorMessage(err))) throw new RefusedError(`cannot connect to the recovering server: ${errorMessage(err)}`, 'pitr.cannot-connect', err);
      return null;
    });
    if (row && !row.rec) return { lastReplay: row.ts };
    // PostgreSQL pauses (rather than stops) when replayed WAL raises a setting above ours: say why, don't wait 30 min.
    if (row?.paused) {
      let why = 'recovery paused';
      try {
        const log = readFileSync(logFile, 'utf8');
        const warn = log.split('\n').map((l, i, a) => (/WARNING:/.test(l) ? [l, a[i + 1] ?? ''].join(' ') : '')).filter(Boolean).pop();
        if (warn) why = warn.replace(/^.*?WARNING:\s*/, '').replace(/\s+\S*\s*DETAIL:\s*/, ' DETAIL: ');
      } catch {
        /* no log */
      }
      throw new RefusedError(`recovery failed: ${why}`, 'pitr.recovery-paused');
    }
    if (Date.now() > deadline) throw new RefusedError(`recovery did not finish within ${Math.round(timeoutMs / 1000)} s`, 'pitr.timeout');
    await new Promise((r) => setTimeout(r, 200));
  }
}

function readLogFatal(file: string): string | null {
  try {
    return fatalWithContext(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

function logLines(file: string, re: RegExp): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => re.test(l));
  } catch {
    return [];
  }
}

export async function pitrRestore(ctx: Context, opts: PitrRestoreOptions): Promise<PitrRestoreResult> {
  const started = Date.now();
  const progress = opts.onProgress ?? (() => {});
  const to = resolve(opts.to);
  const targetText = describeTarget(opts.target);
  const auditBase = { action: 'pitr.restore', command: `prodguard pitr restore --env ${opts.environment} (${targetText}) --to ${to}`, target: opts.environment };
  let partial: PartialSegment | null = null;
  try {
    assertEmptyTarget(to);
    const store = await openPitrStore(ctx.loaded, opts.environment, null);
    partial = await snapshotPartial(pitrStoreDir(ctx.loaded, opts.environment));
    const ix = withPartial(loadIndex(store), partial);
    let plan;
    try {
      plan = planRecovery(ix, opts.target);
    } catch (err) {
      partial?.cleanup();
      if (err instanceof PlanError) throw new RefusedError(err.message, err.code);
      throw err;
    }
    const needsKey = plan.base.files.some((f) => f.encrypted) || plan.segments.some((s) => ix.segments.get(s)!.encrypted);
    for (const sp of partial?.segments ?? []) {
      if (!plan.segments.includes(sp.meta.name) || store.segmentMeta(sp.meta.name)) continue;
      progress(sp.partial ? `using the streaming receiver's segment in progress ${sp.meta.name} (not yet archived)` : `using segment ${sp.meta.name} from the streaming receiver's spool (complete, not yet shipped)`);
    }
    const identity = needsKey ? decryptionIdentity(ctx.loaded, opts.env) : null;
    progress(`base backup ${plan.base.id} (${plan.base.finishedAt}), ${plan.segments.length} WAL segment(s)`);

    mkdirSync(to, { recursive: true, mode: 0o700 });
    const spool = makeServerDir('prodguard-pitr-wal');
    // Decrypted WAL: removed on every exit path, kill -9 included (red team ag-177).
    const stopSpoolWatch = watchDirectory(spool);
    let restoreHba = () => {};
    let cluster: Cluster | undefined;
    try {
      for (const f of plan.base.files) {
        if (!f.name.endsWith('.tar')) continue;
        const tmp = join(spool, `.${f.name}`);
        await store.fetchBaseFile(plan.base.id, f, tmp, identity);
        const dest = f.name === 'pg_wal.tar' ? join(to, 'pg_wal') : to;
        mkdirSync(dest, { recursive: true });
        await runCommand('tar', ['-xf', tmp, '-C', dest]);
        rmSync(tmp, { force: true });
      }
      progress(`base backup extracted into ${to}`);
      for (const name of plan.segments) {
        const local = partial?.copyFor(name, !!store.segmentMeta(name)) ?? null;
        if (local) copyFileSync(local, join(spool, name));
        else await store.fetchWal(name, join(spool, name), identity);
      }
      for (const h of store.listWal().histories) await store.fetchWal(h, join(spool, h), identity);
      progress(`${plan.segments.length} WAL segment(s) fetched, decrypted and checksum-verified`);

      // The primary's max_connections & co. (from the base backup's pg_control): recovery needs at least those.
      const serverSettings = recoveryServerSettings(await readControlSettings(to));
      writeRecoveryConf(to, recoverySettings(opts.target, spool, !!plan.toEnd));
      restoreHba = loopbackOnlyHba(to);
      chownForServer(to);
      chownForServer(spool);
      assertServerCanEnter(to);
      const replayStarted = Date.now();
      try {
        cluster = await createCluster({ name: 'prodguard-pitr', dataDir: to, port: opts.port, keep: true, durable: true, settings: { ...serverSettings, hba_file: join(to, 'pg_hba.conf'), ...opts.settings } });
      } catch (err) {
        // pg_ctl gave up: the server stopped during recovery. Its log says why (with DETAIL and HINT).
        const log = /\(log: ([^)]+)\)/.exec(errorMessage(err))?.[1];
        const fatal = log ? readLogFatal(log) : null;
        if (fatal) throw new RefusedError(`recovery failed: ${fatal}`, 'pitr.recovery-failed', err);
        throw err;
      }
      progress(`PostgreSQL replaying WAL on port ${cluster.port}`);
      const { lastReplay } = await waitForRecoveryEnd(cluster.url(), 30 * 60_000, cluster.logFile);
      const replayMs = Date.now() - replayStarted;
      let stopped = logLines(cluster.logFile, /recovery stopping (before|after|at)/);
      if (plan.toEnd) {
        // No recovery target: PostgreSQL replays all of it; check it reached the newest archived commit.
        const want = plan.toEnd.lastCommit ? parseTimestampMicros(plan.toEnd.lastCommit) : null;
        const got = lastReplay ? parseTimestampMicros(lastReplay) : null;
        if (want !== null && got !== want) {
          throw new RefusedError(`recovery ended at ${lastReplay ?? 'no commit'}, not at the newest archived commit ${plan.toEnd.lastCommit}`, 'pitr.target-not-reached');
        }
        stopped = [`recovery replayed the whole archive: last commit ${lastReplay ?? 'none'}`];
      }
      if (stopped.length === 0) {
        throw new RefusedError(`recovery finished without reaching the target (${targetText}); the cluster at ${to} holds everything up to ${lastReplay ?? 'the end of the archive'}`, 'pitr.target-not-reached');
      }
      if (opts.target.kind === 'time' && lastReplay && (parseTimestampMicros(lastReplay) ?? 0n) > opts.target.micros) {
        throw new RefusedError(`recovery replayed a commit at ${lastReplay}, after the target ${opts.target.value}`, 'pitr.overshoot');
      }
      const stoppedAt = stopped[stopped.length - 1].replace(/^.*?(recovery stopping)/, '$1');
      progress(stoppedAt);
      // The spool is gone after this; PostgreSQL has promoted and no longer needs restore_command.
      const result: PitrRestoreResult = {
        environment: opts.environment,
        target: targetText,
        dataDir: to,
        port: cluster.port,
        logFile: cluster.logFile,
        baseBackup: plan.base.id,
        segments: plan.segments.length,
        stoppedAt,
        lastReplayedCommit: lastReplay,
        durationMs: Date.now() - started,
        replayMs,
      };
      if (opts.keepRunning) result.cluster = cluster;
      else await cluster.stop('fast');
      await ctx.audit({ ...auditBase, verdict: 'ok', reason: `${stoppedAt}; new cluster at ${to}`, details: { baseBackup: plan.base.id, segments: plan.segments.length, durationMs: result.durationMs } });
      return result;
    } catch (err) {
      if (cluster) {
        const fatal = readLogFatal(cluster.logFile);
        await cluster.stop('immediate');
        if (fatal && !(err instanceof RefusedError)) throw new RefusedError(`recovery failed: ${fatal}`, 'pitr.recovery-failed', err);
      }
      throw err;
    } finally {
      rmSync(spool, { recursive: true, force: true });
      stopSpoolWatch();
      restoreHba();
      partial?.cleanup();
    }
  } catch (err) {
    partial?.cleanup();
    await ctx.audit({ ...auditBase, verdict: 'refused', reason: errorMessage(err) });
    throw err;
  }
}

/** Starts a restored data directory as a normal background server (outlives this process). */
export async function startDetached(r: PitrRestoreResult): Promise<void> {
  await runCommand(pgBin('pg_ctl'), ['-D', r.dataDir, '-l', r.logFile, '-w', 'start'], { asUser: serverOsUser() });
}
