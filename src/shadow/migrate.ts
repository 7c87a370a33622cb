/**
 * Schema changes reach the shadow before production. Logical replication carries rows, not DDL:
 * a column production gains first makes the apply worker fail on every change of that table until
 * the shadow has it too; a column the shadow gains first is harmless (it stays NULL until
 * production has it and sends values). So the order is: shadow, then production, then publish new
 * tables.
 *
 * - `migrateShadowFirst`: the migration files production is about to get, applied to the shadow
 *   (those the shadow's own history does not have yet), recorded in the shadow's history.
 *   `migrate deploy` calls it before applying to production; a pipeline can also run
 *   `prodguard shadow migrate --env production` as its own step before the deploy.
 * - `publishNewTables`: after production has them, tables the deploy created are added to the
 *   publication and the subscription refreshed (their rows are copied in). `migrate deploy` calls it
 *   after a successful deploy; `shadow enable` again does the same.
 */
import type { Context } from '../context.js';
import { connectionUrl } from '../config/connection.js';
import { withClient, quoteIdent } from '../pg/client.js';
import { RefusedError, errorMessage } from '../errors.js';
import { readShadowState, writeShadowState } from './state.js';
import { publishableTables } from './production.js';
import type { MigrationFile } from '../migrate/files.js';
import { readMigrations } from '../migrate/files.js';

export interface ShadowMigrateResult {
  shadow: string | null;
  applied: string[];
}

export async function migrateShadowFirst(ctx: Context, envName: string, files: MigrationFile[], onPhase?: (line: string) => void, env: Record<string, string | undefined> = process.env): Promise<ShadowMigrateResult> {
  const s = await readShadowState(ctx, envName);
  if (!s) return { shadow: null, applied: [] };
  if (files.length === 0) return { shadow: s.shadowEnv, applied: [] };
  const { applyMigrations } = await import('../migrate/apply.js');
  const { historyTarget, readApplied } = await import('../migrate/history.js');
  const shadowUrl = connectionUrl(ctx.loaded, s.shadowEnv, env);
  const history = historyTarget(ctx.loaded);
  const have = new Set((await withClient(shadowUrl, (c) => readApplied(c, history))).map((a) => a.version));
  const todo = files.filter((f) => !have.has(f.version));
  if (todo.length === 0) return { shadow: s.shadowEnv, applied: [] };
  onPhase?.(`applying ${todo.length} migration(s) to the shadow ${s.shadowEnv} first`);
  try {
    await applyMigrations(ctx.loaded, shadowUrl, todo, { actor: 'prodguard shadow', changeHash: 'shadow-first', history });
  } catch (err) {
    await ctx.audit({ action: 'shadow.migrate', command: `prodguard shadow migrate --env ${envName}`, target: envName, verdict: 'failed', reason: `applying ${todo.map((f) => f.file).join(', ')} to the shadow ${s.shadowEnv} failed: ${errorMessage(err)}` });
    throw new RefusedError(`applying the migration(s) to the shadow ${s.shadowEnv} first failed, so production was not changed (replication would break): ${errorMessage(err)}`, 'shadow.migrate-failed', err);
  }
  await ctx.audit({ action: 'shadow.migrate', command: `prodguard shadow migrate --env ${envName}`, target: envName, verdict: 'ok', reason: `applied ${todo.map((f) => f.file).join(', ')} to the shadow ${s.shadowEnv} before production` });
  return { shadow: s.shadowEnv, applied: todo.map((f) => f.file) };
}

/** The files production has not applied yet (what the next deploy will apply). */
export async function pendingOnProduction(ctx: Context, envName: string, env: Record<string, string | undefined> = process.env): Promise<MigrationFile[]> {
  const { historyTarget, readApplied } = await import('../migrate/history.js');
  const applied = new Set((await withClient(connectionUrl(ctx.loaded, envName, env), (c) => readApplied(c, historyTarget(ctx.loaded)))).map((a) => a.version));
  return readMigrations(ctx.loaded).files.filter((f) => !applied.has(f.version));
}

export async function publishNewTables(ctx: Context, envName: string, env: Record<string, string | undefined> = process.env): Promise<string[]> {
  const s = await readShadowState(ctx, envName);
  if (!s) return [];
  const prodUrl = connectionUrl(ctx.loaded, envName, env);
  const shadowUrl = connectionUrl(ctx.loaded, s.shadowEnv, env);
  const now = await withClient(prodUrl, (c) => publishableTables(c, s.schemas));
  const added = now.tables.filter((t) => !s.tables.includes(t));
  if (added.length === 0) return [];
  const onShadow = await withClient(shadowUrl, async (c) => new Set((await c.query<{ t: string }>(`SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'`)).rows.map((r) => r.t)));
  const ready = added.filter((t) => onShadow.has(t));
  if (ready.length === 0) return [];
  await withClient(prodUrl, (c) => c.query(`ALTER PUBLICATION ${quoteIdent(s.publication)} ADD TABLE ${ready.join(', ')}`));
  await withClient(shadowUrl, (c) => c.query(`ALTER SUBSCRIPTION ${quoteIdent(s.subscription)} REFRESH PUBLICATION`));
  await writeShadowState(ctx, { ...s, tables: [...s.tables, ...ready].sort(), notCovered: now.notCovered });
  await ctx.audit({ action: 'shadow.publish', command: `prodguard shadow migrate --env ${envName} --publish`, target: envName, verdict: 'ok', reason: `added ${ready.join(', ')} to publication ${s.publication}` });
  return ready;
}
