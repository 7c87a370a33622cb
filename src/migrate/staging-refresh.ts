/**
 * `prodguard staging refresh --yes`: staging becomes a masked copy of production. Only in that
 * direction: the source is the latest *verified* backup of the production environment (never a
 * live connection), the target must be a staging environment whose connection does not resolve
 * to production. Staging's user schemas are dropped, the dump is restored, and the masking rules
 * run in one transaction; if masking fails, the restored data is dropped again (fail closed:
 * unmasked production data never stays in staging). The data age is recorded for `status`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from '../context.js';
import { connectionUrl } from '../config/connection.js';
import { RefusedError, UsageError, errorMessage } from '../errors.js';
import { connect, quoteIdent } from '../pg/client.js';
import { envOfKind } from './change.js';
import { assertNotProduction } from './safety.js';
import { applyMasking, maskingSalt } from './masking.js';
import { USER_SCHEMAS_SQL } from './sql/masking.js';
import { checkReachedEnvironment, stampIdentity } from '../policy/environment-identity.js';
import { policyInForce } from '../policy/chain.js';
import { currentActor } from '../audit/actor.js';
import { withClient } from '../pg/client.js';
import { STAGING_REFRESHES, type StagingRefreshRecord } from './records.js';

export interface RefreshResult extends StagingRefreshRecord {
  maskedRows: number;
}

async function dropUserSchemas(url: string): Promise<void> {
  const c = await connect(url, { applicationName: 'prodguard staging refresh' });
  try {
    const schemas = (await c.query(USER_SCHEMAS_SQL)).rows.map((r: { name: string }) => r.name);
    await c.query('BEGIN');
    for (const s of schemas) await c.query(`DROP SCHEMA ${quoteIdent(s)} CASCADE`);
    await c.query('CREATE SCHEMA public');
    await c.query('COMMIT');
  } finally {
    await c.end().catch(() => {});
  }
}

export async function refreshStaging(
  ctx: Context,
  opts: { staging?: string; from?: string; yes: boolean; onPhase?: (p: string) => void },
): Promise<RefreshResult> {
  const { loaded } = ctx;
  const staging = envOfKind(loaded, 'staging', opts.staging);
  const from = envOfKind(loaded, 'production', opts.from);
  const command = `prodguard staging refresh --env ${staging}`;
  const url = connectionUrl(loaded, staging);
  try {
    assertNotProduction(loaded, staging, url, 'staging refresh');
  } catch (err) {
    await ctx.audit({ action: 'staging.refresh', command, target: staging, verdict: 'refused', reason: errorMessage(err) });
    throw err;
  }
  if (!opts.yes) throw new UsageError(`staging refresh replaces everything in ${staging}; pass --yes`, 'usage.confirm');
  // Ask the database which environment it is before replacing it (a URL spelling proves nothing).
  const reached = await checkReachedEnvironment(ctx, staging, url, command, 'staging.refresh');
  // The dump carries production's identity row; staging gets its own back (or none, if not enrolled).
  const restoreIdentity = async () => {
    const { inForce } = await policyInForce(ctx);
    const pinned = reached.enrolled ? inForce?.policy.environments[staging] : undefined;
    if (pinned) await stampIdentity(url, pinned.envId, staging, 'staging', currentActor());
    else await withClient(url, (c) => c.query(`DO $$ BEGIN IF to_regclass('prodguard.environment_identity') IS NOT NULL THEN DELETE FROM prodguard.environment_identity; END IF; END $$`));
  };
  const { latestVerifiedBackup, materializeBackup, restoreDump } = await import('../backup/index.js');
  const m = await latestVerifiedBackup(ctx, from);
  if (!m) {
    await ctx.audit({ action: 'staging.refresh', command, target: staging, verdict: 'refused', reason: `no verified backup of ${from}` });
    throw new RefusedError(`no verified backup of ${from} to refresh ${staging} from (prodguard backup create --env ${from}, then backup verify)`, 'staging.no-backup');
  }
  const work = mkdtempSync(join(tmpdir(), 'prodguard-refresh-'));
  let maskedRows = 0;
  try {
    opts.onPhase?.(`fetching backup ${m.id}`);
    const mat = await materializeBackup(ctx, m.id, work, { env: from });
    opts.onPhase?.(`replacing ${staging}`);
    await dropUserSchemas(url);
    // Roles the dump's policies name (#15): created NOLOGIN without password when staging lacks them.
    const { ensureRoles, loadDatabaseProperties, dropRoles } = await import('../restore/roles.js');
    let createdRoles: string[] = [];
    try {
      createdRoles = (await ensureRoles(url, loadDatabaseProperties(mat))).created;
      await restoreDump(mat.dumpPath, url, { noAcl: true });
      opts.onPhase?.('masking');
      const salt = await maskingSalt(ctx);
      const c = await connect(url, { applicationName: 'prodguard staging refresh' });
      try {
        await c.query('BEGIN');
        maskedRows = await applyMasking(c, loaded.config.staging.masking, salt);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        await c.end().catch(() => {});
      }
      await restoreIdentity();
    } catch (err) {
      await dropUserSchemas(url).catch(() => {});
      await restoreIdentity().catch(() => {});
      await dropRoles(url, createdRoles).catch(() => {});
      throw new RefusedError(`staging refresh of ${staging} failed and its restored data was removed (no unmasked copy stays): ${errorMessage(err)}`, 'staging.refresh-failed');
    }
  } catch (err) {
    await ctx.audit({ action: 'staging.refresh', command, target: staging, verdict: 'failed', reason: errorMessage(err), details: { backupId: m.id } });
    throw err;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const rec: StagingRefreshRecord = {
    environment: staging,
    from,
    backupId: m.id,
    backupCreatedAt: m.finishedAt,
    at: new Date().toISOString(),
    maskedColumns: loaded.config.staging.masking.length,
  };
  await (await ctx.store()).put(STAGING_REFRESHES, `${staging}:${rec.at}`, rec);
  await ctx.audit({
    action: 'staging.refresh',
    command,
    target: staging,
    verdict: 'ok',
    reason: `${staging} replaced from ${from} backup ${m.id} (data as of ${m.finishedAt}); ${rec.maskedColumns} column(s) masked`,
    details: { backupId: m.id, maskedRows },
  });
  return { ...rec, maskedRows };
}
