/**
 * `prodguard staging refresh --yes`: staging becomes a masked copy of production. Only in that
 * direction: the source is the latest *verified* backup of the production environment (never a
 * live connection), the target must be a staging environment that neither resolves to production
 * by its URL nor reaches production's server and database by any other name (server identity).
 *
 * Production's data is never readable where staging's users connect, not even for a second: the
 * dump is restored into a private database on staging's server (CONNECT revoked from PUBLIC),
 * its personal-data coverage is checked, it is masked there with triggers off, its materialized
 * views are rebuilt, staging's identity is stamped, and only then is it swapped in for staging by
 * an atomic rename (refresh-swap.ts). Any failure or kill before the swap leaves the old staging
 * as it was; the old database is dropped only after the swap committed.
 */
import type { Context } from '../context.js';
import { connectionUrl, tryConnectionUrl } from '../config/connection.js';
import { RefusedError, UsageError, errorMessage } from '../errors.js';
import { connect, withClient } from '../pg/client.js';
import { withDatabase } from '../pg/conninfo.js';
import { envOfKind } from './change.js';
import { assertNotProduction } from './safety.js';
import { applyMasking, maskingSalt, scrubMaskedTables, type MaskRule } from './masking.js';
import { coverage, uncoveredLine } from './pii-detect.js';
import { checkReachedEnvironment, readFactsAt, stampIdentity, type ReachedFacts } from '../policy/environment-identity.js';
import { policyInForce } from '../policy/chain.js';
import { authoriseMasking, signedMaskingRemoved } from './masking-authority.js';
import { currentActor } from '../audit/actor.js';
import { STAGING_REFRESHES, type StagingRefreshRecord } from './records.js';
import { connectMaintenance, createPrivateDatabase, dropLeftovers, recoverInterrupted, stagingDatabaseName, swapIn } from './refresh-swap.js';
import { openWorkdir } from './refresh-workdir.js';
import { ensureRoles, parseDatabaseProperties, rolesNamedInDump, rolesOnlyProperties } from '../restore/roles.js';
import { backupJobs } from '../backup/jobs.js';
import type { BackupStream } from '../backup/stream-restore.js';
import { supabaseRefreshList } from '../supabase/refresh-list.js';
import { assertSessionConnection } from '../supabase/connection.js';
import { describeDifference, diffSnapshots, schemaSnapshot } from './snapshot.js';

export interface RefreshResult extends StagingRefreshRecord {
  maskedRows: number;
  /** Staging sessions ended to swap the databases. */
  terminatedSessions: number;
  /** Roles production's grants name that staging's server lacked, created NOLOGIN without a password. */
  rolesCreated: string[];
  /** Where the new staging's schema differs from production's live schema (empty: equal). */
  schemaDifferences: string[];
  /** Supabase: dump entries only the platform's superuser can make, left out of the restore (src/supabase/refresh-list.ts). */
  leftToPlatform: string[];
}

/** Refuses a staging connection that reaches production's server and database, whatever the spelling. */
async function assertNotProductionServer(ctx: Context, staging: string, from: string, facts: ReachedFacts): Promise<void> {
  const candidates: Array<{ systemIdentifier: string; database: string; how: string }> = [];
  const { inForce } = await policyInForce(ctx);
  for (const [name, p] of Object.entries(inForce?.policy.environments ?? {})) if (p.kind === 'production') candidates.push({ ...p, how: `pinned identity of "${name}"` });
  const prodUrl = tryConnectionUrl(ctx.loaded, from);
  if (prodUrl) {
    // Read-only look at production's own facts (no data is read from it).
    const pf = await readFactsAt(prodUrl).catch(() => null);
    if (pf) candidates.push({ ...pf, how: `server of "${from}"` });
  }
  if (facts.systemIdentifier === 'unreadable') return; // judged by the identity row alone (checkReachedEnvironment)
  for (const p of candidates) {
    if (p.systemIdentifier === facts.systemIdentifier && p.database === facts.database) {
      throw new RefusedError(`staging refresh: the database reached as "${staging}" is production's database ${p.database} on production's server (system_identifier ${p.systemIdentifier}, ${p.how}); refusing`, 'migrate.production-target');
    }
  }
}

export async function refreshStaging(
  ctx: Context,
  opts: {
    staging?: string;
    from?: string;
    yes: boolean;
    onPhase?: (p: string) => void;
    /**
     * Test hook: awaited once the backup's key, copies and schema are checked ('fetched'), before
     * the first data object streams into the private database ('restoring'), and inside the
     * masking transaction ('masking').
     */
    hold?: (at: 'fetched' | 'restoring' | 'masking') => Promise<void>;
  },
): Promise<RefreshResult> {
  const { loaded } = ctx;
  const staging = envOfKind(loaded, 'staging', opts.staging);
  const from = envOfKind(loaded, 'production', opts.from);
  const command = `prodguard staging refresh --env ${staging}`;
  const url = connectionUrl(loaded, staging);
  assertSessionConnection(url, 'staging refresh'); // Supabase hook (src/supabase): no transaction-mode pooler
  const rules = loaded.config.staging.masking as MaskRule[];
  const refuse = async (reason: string, code: string): Promise<never> => {
    await ctx.audit({ action: 'staging.refresh', command, target: staging, verdict: 'refused', reason });
    throw new RefusedError(reason, code);
  };
  try {
    assertNotProduction(loaded, staging, url, 'staging refresh');
  } catch (err) {
    return refuse(errorMessage(err), 'migrate.production-target');
  }
  if (!opts.yes) throw new UsageError(`staging refresh replaces everything in ${staging}; pass --yes`, 'usage.confirm');
  if (!rules.length) {
    return refuse('staging.masking is empty: a refresh would copy production\'s personal data as it is (add rules, or `strategy: keep` with a reason per column)', 'staging.no-masking');
  }
  if (await recoverInterrupted(url)) opts.onPhase?.(`${staging} accepts connections again (an interrupted refresh had held them off)`);
  // Ask the database which environment and server it is before replacing it (a URL spelling proves nothing).
  const reached = await checkReachedEnvironment(ctx, staging, url, command, 'staging.refresh');
  try {
    await assertNotProductionServer(ctx, staging, from, reached.facts);
  } catch (err) {
    return refuse(errorMessage(err), 'migrate.production-target');
  }
  // The masking rules are working tree: what they leave unmasked must be signed by the policy
  // in force (red team w5c-044) — checked before anything is fetched or copied.
  let authority: Awaited<ReturnType<typeof authoriseMasking>>;
  try {
    authority = await authoriseMasking(ctx, from, rules);
  } catch (err) {
    return refuse(errorMessage(err), (err as RefusedError).code ?? 'staging.masking-unsigned');
  }
  const { latestVerifiedBackup } = await import('../backup/index.js');
  const { openBackupStream } = await import('../backup/stream-restore.js');
  const m = await latestVerifiedBackup(ctx, from);
  if (!m) return refuse(`no verified backup of ${from} to refresh ${staging} from (prodguard backup create --env ${from}, then backup verify)`, 'staging.no-backup');

  const db = stagingDatabaseName(url);
  const maint = await connectMaintenance(url);
  const work = openWorkdir();
  let privateDb: string | null = null;
  let swapped = false;
  let maskedRows = 0;
  let terminated = 0;
  let rolesCreated: string[] = [];
  let schemaDifferences: string[] = [];
  let stream: BackupStream | null = null;
  let leftToPlatform: string[] = [];
  try {
    const left = await dropLeftovers(maint, db);
    if (left.length) opts.onPhase?.(`removed ${left.length} leftover database(s) of an interrupted refresh`);
    opts.onPhase?.(`fetching backup ${m.id}`);
    // Streamed from the decrypting reader into the private database: no plaintext file, ever.
    stream = await openBackupStream(ctx, m.id, work.path, { env: from });
    await opts.hold?.('fetched');
    privateDb = await createPrivateDatabase(maint, db);
    const privUrl = withDatabase(url, privateDb);
    opts.onPhase?.(`restoring into private database ${privateDb}`);
    // Grants come along: the roles production's backup records (database.json; older backups:
    // the roles its grants and policies name) are created first where missing (NOLOGIN, no password).
    const props = parseDatabaseProperties({ properties: stream.propertiesText, globals: stream.globalsText }) ?? (stream.tocDir ? rolesOnlyProperties(rolesNamedInDump(stream.tocDir, work.path)) : null);
    // Roles only, without production's role-level settings (ALTER ROLE … SET app.api_key = …
    // carries secrets; red team w5data): staging's roles get staging's settings, not production's.
    rolesCreated = (await ensureRoles(url, props && { ...props, roles: props.roles.map((r) => ({ ...r, settings: [] })) })).created;
    if (rolesCreated.length) opts.onPhase?.(`created ${rolesCreated.length} role(s) production's grants name: ${rolesCreated.join(', ')} (NOLOGIN, no password)`);
    // Supabase to Supabase: entries only the platform's superuser can make are left out and named
    // (src/supabase/refresh-list.ts), read from the directory dump's toc.dat (schema only, no rows).
    const sb = stream.tocDir ? await supabaseRefreshList(stream.tocDir, privUrl, work.path) : undefined;
    leftToPlatform = sb?.leftOut ?? [];
    if (sb?.leftOut.length) opts.onPhase?.(`left to the platform (staging's role is not superuser): ${sb.leftOut.join('; ')}`);
    let fed = 0;
    await stream.restore(privUrl, {
      jobs: backupJobs(loaded.config.backup.jobs),
      ...(sb ? { listFile: sb.listFile } : {}),
      // The test hook holds while data is flowing (the second object, the first one under way or done).
      onFeed: async () => {
        if (++fed === 2) await opts.hold?.('restoring');
      },
    });
    work.remove();
    const c = await connect(privUrl, { applicationName: 'prodguard staging refresh' });
    try {
      const cov = await coverage(c, rules);
      if (cov.uncovered.length) {
        throw new RefusedError(`personal data without a masking rule: ${uncoveredLine(cov.uncovered)} — add a rule to staging.masking, or \`strategy: keep\` with a reason`, 'staging.uncovered-pii');
      }
      // A signed rule deleted from prodguard.yaml, for a column the copy still has (detection may not recognise it).
      await signedMaskingRemoved(c, authority, rules);
      opts.onPhase?.('masking (triggers off)');
      const salt = await maskingSalt(ctx);
      await c.query('BEGIN');
      let masked: { rows: number; tables: string[] };
      try {
        masked = await applyMasking(c, rules, salt);
        maskedRows = masked.rows;
        await opts.hold?.('masking');
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      }
      opts.onPhase?.(`rewriting ${masked.tables.length} masked table(s) and recomputing statistics (no original value left in dead rows or pg_stats)`);
      for (const w of await scrubMaskedTables(c, masked.tables)) opts.onPhase?.(`warning: ${w}`);
    } finally {
      await c.end().catch(() => {});
    }
    // The dump carries production's identity row; the new staging gets staging's (or none, if not enrolled).
    const { inForce } = await policyInForce(ctx);
    const pinned = reached.enrolled ? inForce?.policy.environments[staging] : undefined;
    if (pinned) await stampIdentity(privUrl, pinned.envId, staging, 'staging', currentActor());
    else await withClient(privUrl, (cc) => cc.query(`DO $$ BEGIN IF to_regclass('prodguard.environment_identity') IS NOT NULL THEN DELETE FROM prodguard.environment_identity; END IF; END $$`));
    // Exactness: the copy's schema against production's live schema (catalog only). The backup
    // may be older than production, so differences are listed (result, audit), not refused.
    const prodUrl = tryConnectionUrl(loaded, from);
    if (prodUrl) {
      const [want, got] = await Promise.all([schemaSnapshot(prodUrl), schemaSnapshot(privUrl)]);
      schemaDifferences = diffSnapshots(want, got).map((d) => describeDifference(d, { expected: from, actual: staging }));
      if (schemaDifferences.length) opts.onPhase?.(`schema differs from ${from} (backup ${m.id} predates it?): ${schemaDifferences.join('; ')}`);
    }
    opts.onPhase?.(`swapping the masked copy in for ${db}`);
    ({ terminated } = await swapIn(maint, db, privateDb, { lockTimeout: loaded.config.migrations.lockTimeout, waitMs: 10_000, onPhase: opts.onPhase }));
    swapped = true;
  } catch (err) {
    const reason = `staging refresh of ${staging} failed; ${staging} is unchanged and the unmasked copy was dropped: ${errorMessage(err)}`;
    await ctx.audit({ action: 'staging.refresh', command, target: staging, verdict: 'failed', reason, details: { backupId: m.id } });
    throw err instanceof RefusedError ? new RefusedError(reason, err.code ?? 'staging.refresh-failed') : new RefusedError(reason, 'staging.refresh-failed');
  } finally {
    await stream?.close();
    work.remove();
    if (privateDb && !swapped) await maint.query(`DROP DATABASE IF EXISTS "${privateDb.replace(/"/g, '""')}" WITH (FORCE)`).catch(() => {});
    await maint.end().catch(() => {});
  }
  const rec: StagingRefreshRecord = {
    environment: staging,
    from,
    backupId: m.id,
    backupCreatedAt: m.finishedAt,
    at: new Date().toISOString(),
    maskedColumns: rules.filter((r) => r.strategy !== 'keep').length,
  };
  await (await ctx.store()).put(STAGING_REFRESHES, `${staging}:${rec.at}`, rec);
  await ctx.audit({
    action: 'staging.refresh',
    command,
    target: staging,
    verdict: 'ok',
    reason: `${staging} replaced from ${from} backup ${m.id} (data as of ${m.finishedAt}); ${rec.maskedColumns} column(s) masked in a private copy, swapped in atomically`,
    details: { backupId: m.id, maskedRows, terminatedSessions: terminated, rolesCreated, schemaDifferences, leftToPlatform, maskingSignedBy: authority.policy },
  });
  return { ...rec, maskedRows, terminatedSessions: terminated, rolesCreated, schemaDifferences, leftToPlatform };
}
