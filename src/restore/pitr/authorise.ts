/**
 * PITR writes production's whole cluster (base backups, every WAL segment) to the PITR store and
 * to every backup destination, encrypted to the configured recipients: the same bytes a backup
 * carries, so the same signed terms govern them (src/backup/destination-policy.ts). Without this
 * a developer with production's URL put their own destination and age key into prodguard.yaml and
 * ran `pitr base-backup` (red team w5c-043), or pointed `shadow enable` at them (w5c-087).
 *
 * A shadow holds production's tables, so its PITR is judged as production's: an environment is a
 * shadow when its database holds prodguard's shadow subscription (a fact of the database, which
 * prodguard.yaml cannot hide), or the state store names it as a shadow.
 *
 * Checked when PITR is enabled, for every base backup and when the WAL receiver starts — not per
 * archived segment: PostgreSQL's archive_command runs on the database server with the config named
 * at enable time, and refusing a segment there would only stop production from recycling its WAL.
 */
import type { Context } from '../../context.js';
import { withClient } from '../../pg/client.js';
import { authoriseDestinations, type DestinationsAuthority } from '../../backup/destination-policy.js';
import { SHADOW_COLLECTION, type ShadowState } from '../../shadow/state.js';

/** The shadow subscription prodguard creates (src/shadow/state.ts subscriptionName), in this database. */
const SHADOW_SUBSCRIPTION_SQL = `SELECT EXISTS (SELECT 1 FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND subname LIKE 'prodguard\\_shadow\\_%') AS shadow`;

/** Does this database receive production's tables (a prodguard shadow)? Unreadable counts as yes. */
export async function holdsShadowCopy(url: string): Promise<boolean> {
  try {
    return await withClient(url, async (c) => (await c.query<{ shadow: boolean }>(SHADOW_SUBSCRIPTION_SQL)).rows[0]?.shadow === true);
  } catch {
    return true;
  }
}

async function namedAsShadow(ctx: Context, envName: string): Promise<boolean> {
  try {
    return (await (await ctx.store()).list<ShadowState>(SHADOW_COLLECTION)).some((d) => d.doc.shadowEnv === envName);
  } catch {
    return false; // the database's own fact above still counts
  }
}

/**
 * The policy that authorises PITR's destinations and recipients for `envName` (null: unsigned and
 * allowed — no policy, not production); throws RefusedError `backup.destinations-unsigned` when
 * production's data (or its shadow's) would go anywhere the policy in force does not sign.
 * `shadow: true` when the caller is setting the environment up as a shadow.
 */
export async function authorisePitrDestinations(ctx: Context, envName: string, url: string, opts: { shadow?: boolean } = {}): Promise<DestinationsAuthority | null> {
  const asProduction = opts.shadow === true || (await namedAsShadow(ctx, envName)) || (await holdsShadowCopy(url));
  return authoriseDestinations(ctx, envName, url, { what: 'PITR', asProduction });
}
