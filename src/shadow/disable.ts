/**
 * `prodguard shadow disable --env production`: the way back. A logical slot whose subscriber is
 * gone makes production keep every WAL segment from then on — on a hosted project, until its disk
 * is full — so a shadow that is given up must drop its slot. Drops the subscription on the shadow
 * (which drops its slot on production), or, when the shadow is unreachable, the slot on production
 * directly (the REPLICATION attribute allows it); then the publication. The shadow's PITR archive is
 * kept (it still restores the past); the state record goes.
 */
import type { Context } from '../context.js';
import { tryConnectionUrl, connectionUrl } from '../config/connection.js';
import { withClient, quoteIdent } from '../pg/client.js';
import { maskSecrets } from '../security/mask.js';
import { errorMessage } from '../errors.js';
import { requireShadowState, SHADOW_COLLECTION } from './state.js';

export interface DisableResult {
  environment: string;
  subscriptionDropped: boolean;
  slotDropped: boolean;
  publicationDropped: boolean;
  notes: string[];
}

export async function disableShadow(ctx: Context, envName: string, env: Record<string, string | undefined> = process.env): Promise<DisableResult> {
  const s = await requireShadowState(ctx, envName);
  const notes: string[] = [];
  const out: DisableResult = { environment: envName, subscriptionDropped: false, slotDropped: false, publicationDropped: false, notes };
  const shadowUrl = tryConnectionUrl(ctx.loaded, s.shadowEnv, env);
  if (shadowUrl) {
    try {
      await withClient(shadowUrl, async (c) => {
        if ((await c.query('SELECT 1 FROM pg_subscription WHERE subname = $1', [s.subscription])).rowCount) {
          await c.query(`ALTER SUBSCRIPTION ${quoteIdent(s.subscription)} DISABLE`);
          await c.query(`DROP SUBSCRIPTION ${quoteIdent(s.subscription)}`); // drops its slot on production too
        }
      });
      out.subscriptionDropped = true;
    } catch (err) {
      notes.push(`could not drop the subscription on the shadow: ${maskSecrets(errorMessage(err))}`);
    }
  } else notes.push(`the shadow's connection (${s.shadowEnv}) is not available here`);
  await withClient(connectionUrl(ctx.loaded, envName, env), async (c) => {
    const slot = await c.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [s.subscription]);
    if (slot.rowCount) {
      if (slot.rows[0].active) notes.push(`slot ${s.subscription} is still in use on production; not dropped (stop the shadow's subscription first)`);
      else {
        await c.query('SELECT pg_drop_replication_slot($1)', [s.subscription]);
        out.slotDropped = true;
      }
    } else out.slotDropped = true;
    await c.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(s.publication)}`);
    out.publicationDropped = true;
  });
  if (out.slotDropped) await (await ctx.store()).delete(SHADOW_COLLECTION, envName);
  await ctx.audit({ action: 'shadow.disable', command: `prodguard shadow disable --env ${envName}`, target: envName, verdict: out.slotDropped ? 'ok' : 'failed', reason: `subscription ${out.subscriptionDropped ? 'dropped' : 'not dropped'}, slot ${out.slotDropped ? 'gone' : 'KEPT'}, publication dropped${notes.length ? `; ${notes.join('; ')}` : ''}` });
  return out;
}
