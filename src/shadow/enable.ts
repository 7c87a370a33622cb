/**
 * `prodguard shadow enable --env production --shadow <environment>`: a self-hosted PostgreSQL that
 * follows production through logical replication and has prodguard's own PITR.
 *
 * 1. production: privileges checked (production.ts), the publication created or updated FOR TABLE
 *    (the tables the connecting role owns and that have a replica identity);
 * 2. shadow (superuser there): every production role created NOLOGIN without a password (owners,
 *    grantees and policies must resolve), the schema copied with a schema-only dump of the
 *    configured schemas — skipped when the shadow already has them (e.g. from the migrations);
 * 3. the subscription created (its slot on production comes from the REPLICATION attribute), and
 *    the initial copy awaited until every table is ready;
 * 4. sequences synced, schema fingerprints recorded (drift baseline);
 * 5. PITR on the shadow: `pitr enable` + a first base backup, into the configured stores and
 *    destinations. The WAL receiver (`prodguard pitr stream --env <shadow>` or serve) runs from then on.
 *
 * The subscription's connection string (with production's password) is stored by PostgreSQL in
 * pg_subscription on the shadow, readable only by the shadow's superusers; prodguard prints and
 * audits only masked forms of it.
 */
import type { Context } from '../context.js';
import { connectionUrl, requireEnvironment } from '../config/connection.js';
import { withClient, quoteIdent, quoteLiteral } from '../pg/client.js';
import { runPgTool } from '../pg/run-tool.js';
import { toolConn } from '../pg/tool-conn.js';
import { forExistingSchemas } from './dump-sql.js';
import { maskSecrets } from '../security/mask.js';
import { RefusedError, UsageError, errorMessage } from '../errors.js';
import { assertProductionPrivileges, productionFacts, publishableTables } from './production.js';
import { publicationName, subscriptionName, writeShadowState, readShadowState, type ShadowState } from './state.js';
import { syncSequences } from './sequences.js';
import { schemaFingerprints } from './drift.js';
import { enablePitr } from '../restore/pitr/enable.js';
import { createBaseBackup } from '../restore/pitr/base-backup.js';
import { authorisePitrDestinations } from '../restore/pitr/authorise.js';

export interface EnableShadowOptions {
  environment: string;
  shadowEnv: string;
  schemas?: string[];
  /** How long to wait for the initial table copy (default 10 min). */
  syncTimeoutMs?: number;
  /** Skip `pitr enable` + base backup on the shadow (tests of the replication part alone). */
  skipPitr?: boolean;
  env?: Record<string, string | undefined>;
  onProgress?: (line: string) => void;
}

export interface EnableShadowResult {
  environment: string;
  shadow: string;
  publication: string;
  subscription: string;
  tables: string[];
  notCovered: Array<{ table: string; reason: string }>;
  schemaCopied: boolean;
  createdRoles: string[];
  sequences: number;
  pitr: { method: string; baseBackup: string | null; restartRequired: boolean } | null;
  /** The privileges used on production, for the record. */
  productionPrivileges: string[];
}

async function waitForSync(shadowUrl: string, sub: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await withClient(shadowUrl, async (c) =>
      (await c.query<{ pending: string; errors: string }>(
        `SELECT (SELECT count(*) FROM pg_subscription_rel sr WHERE sr.srsubid = s.oid AND sr.srsubstate <> 'r')::text AS pending,
                coalesce((SELECT sync_error_count + apply_error_count FROM pg_stat_subscription_stats st WHERE st.subid = s.oid), 0)::text AS errors
           FROM pg_subscription s WHERE s.subname = $1`,
        [sub],
      )).rows[0],
    );
    if (!r) throw new RefusedError(`subscription ${sub} disappeared from the shadow`, 'shadow.no-subscription');
    if (r.pending === '0') return;
    if (Number(r.errors) > 0) throw new RefusedError(`the initial copy into the shadow failed (${r.errors} error(s); the shadow's server log says why)`, 'shadow.sync-failed');
    if (Date.now() > deadline) throw new RefusedError(`the initial copy did not finish within ${Math.round(timeoutMs / 1000)} s (${r.pending} table(s) pending); it continues in the background, run shadow enable again to resume`, 'shadow.sync-timeout');
    await new Promise((res) => setTimeout(res, 200));
  }
}

export async function enableShadow(ctx: Context, opts: EnableShadowOptions): Promise<EnableShadowResult> {
  const { loaded } = ctx;
  const env = opts.env ?? process.env;
  const progress = opts.onProgress ?? (() => {});
  const schemas = opts.schemas?.length ? opts.schemas : ['public'];
  const auditBase = { action: 'shadow.enable', command: `prodguard shadow enable --env ${opts.environment} --shadow ${opts.shadowEnv}`, target: opts.environment };
  try {
    if (opts.environment === opts.shadowEnv) throw new UsageError('--shadow must name another environment than --env', 'shadow.same-env');
    if (requireEnvironment(loaded, opts.shadowEnv).kind === 'production') throw new UsageError(`--shadow ${opts.shadowEnv} is a production environment; the shadow is a self-hosted copy (kind local or staging)`, 'shadow.shadow-is-production');
    requireEnvironment(loaded, opts.environment);
    const prodUrl = connectionUrl(loaded, opts.environment, env);
    const shadowUrl = connectionUrl(loaded, opts.shadowEnv, env);
    const pub = publicationName();
    const sub = subscriptionName(opts.environment);
    const previous = await readShadowState(ctx, opts.environment);
    if (previous && previous.shadowEnv !== opts.shadowEnv) throw new RefusedError(`${opts.environment} already has a shadow (${previous.shadowEnv}); one shadow per production environment`, 'shadow.exists');
    // The shadow's PITR carries production's data: its destinations and recipients must be the
    // signed policy's (w5c-087) — checked before anything is created on either side.
    if (!opts.skipPitr) await authorisePitrDestinations(ctx, opts.shadowEnv, shadowUrl, { shadow: true });

    // 1. Production: read-only checks first, then the publication (the only object created there).
    const { published, roles } = await withClient(prodUrl, async (c) => {
      assertProductionPrivileges(await productionFacts(c), opts.environment);
      const published = await publishableTables(c, schemas);
      if (published.tables.length === 0) throw new RefusedError(`no table of ${schemas.join(', ')} can be published${published.notCovered.length ? `: ${published.notCovered.map((n) => `${n.table} (${n.reason})`).join('; ')}` : ''}`, 'shadow.no-tables');
      const roles = (await c.query<{ r: string }>(`SELECT rolname AS r FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1`)).rows.map((x) => x.r);
      return { published, roles };
    });

    // 2. Shadow: must be a superuser connection (subscriptions, roles, PITR).
    const shadowFacts = await withClient(shadowUrl, async (c) => {
      const r = await c.query<{ su: boolean; wl: string }>(`SELECT rolsuper AS su, current_setting('wal_level') AS wl FROM pg_roles WHERE rolname = current_user`);
      return r.rows[0];
    });
    if (!shadowFacts.su) throw new RefusedError(`the shadow connection (${opts.shadowEnv}) must be a superuser: it creates roles, the subscription and the WAL archive`, 'shadow.not-superuser');
    if (shadowFacts.wl === 'minimal') throw new RefusedError(`the shadow has wal_level=minimal; set wal_level=replica (PITR needs it) and restart it`, 'shadow.wal-level');

    const createdRoles: string[] = [];
    const present = await withClient(shadowUrl, async (c) => {
      for (const role of roles) {
        const exists = (await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount;
        if (!exists) {
          await c.query(`CREATE ROLE ${quoteIdent(role)} NOLOGIN`);
          createdRoles.push(role);
        }
      }
      const r = await c.query<{ t: string }>(`SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND format('%I.%I', n.nspname, c.relname) = ANY($1)`, [published.tables]);
      return new Set(r.rows.map((x) => x.t));
    });
    if (createdRoles.length) progress(`created ${createdRoles.length} role(s) on the shadow (NOLOGIN, no password): ${createdRoles.join(', ')}`);
    let schemaCopied = false;
    if (present.size === 0) {
      const tc = toolConn(prodUrl);
      const dump = await runPgTool('pg_dump', ['-d', tc.conn, '--schema-only', '--no-publications', '--no-subscriptions', ...schemas.flatMap((s) => ['-n', s])], { env: tc.env }).catch((err) => {
        throw new RefusedError(`schema-only dump of ${opts.environment} failed: ${errorMessage(err)}`, 'shadow.schema-dump', err);
      });
      const sc = toolConn(shadowUrl);
      const sql = forExistingSchemas(dump.stdout);
      await runPgTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-d', sc.conn, '-f', '-'], { env: sc.env, input: sql }).catch((err) => {
        throw new RefusedError(`copying the schema to the shadow failed: ${errorMessage(err)} (if production is a Supabase project, the shadow must be Supabase-like: its policies and functions refer to auth, extensions and the API roles)`, 'shadow.schema-copy', err);
      });
      schemaCopied = true;
      progress(`schema of ${schemas.join(', ')} copied to the shadow (schema-only dump)`);
    } else if (present.size !== published.tables.length) {
      const missing = published.tables.filter((t) => !present.has(t));
      throw new RefusedError(`the shadow has some of the tables but not ${missing.join(', ')}; apply the same migrations to it (or start from an empty shadow)`, 'shadow.partial-schema');
    }

    await withClient(prodUrl, async (c) => {
      const exists = (await c.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [pub])).rowCount;
      const list = published.tables.join(', ');
      // Every operation, TRUNCATE included (the default publish list).
      if (exists) await c.query(`ALTER PUBLICATION ${quoteIdent(pub)} SET TABLE ${list}`);
      else await c.query(`CREATE PUBLICATION ${quoteIdent(pub)} FOR TABLE ${list} WITH (publish = 'insert, update, delete, truncate')`);
    });
    progress(`publication ${pub} on ${opts.environment}: ${published.tables.length} table(s)`);

    // 3. The subscription (its slot is created on production with the REPLICATION attribute).
    await withClient(shadowUrl, async (c) => {
      const exists = (await c.query('SELECT 1 FROM pg_subscription WHERE subname = $1', [sub])).rowCount;
      // The statement carries production's password: a failure must not write it into the shadow's server log.
      await c.query('SET log_min_error_statement = panic');
      try {
        if (exists) await c.query(`ALTER SUBSCRIPTION ${quoteIdent(sub)} REFRESH PUBLICATION`);
        else await c.query(`CREATE SUBSCRIPTION ${quoteIdent(sub)} CONNECTION ${quoteLiteral(prodUrl)} PUBLICATION ${quoteIdent(pub)} WITH (copy_data = true, slot_name = ${quoteLiteral(sub)})`);
      } catch (err) {
        throw new RefusedError(`creating the subscription on the shadow failed: ${maskSecrets(errorMessage(err))}`, 'shadow.subscription', err);
      }
    });
    progress(`subscription ${sub}: waiting for the initial copy`);
    await waitForSync(shadowUrl, sub, opts.syncTimeoutMs ?? 10 * 60_000);

    const originId = await withClient(shadowUrl, async (c) =>
      (await c.query<{ id: number }>(`SELECT o.roident::int AS id FROM pg_replication_origin o JOIN pg_subscription s ON o.roname = 'pg_' || s.oid WHERE s.subname = $1`, [sub])).rows[0]?.id ?? null,
    );
    const seq = await syncSequences(prodUrl, shadowUrl, schemas);
    const fp = await schemaFingerprints(prodUrl, shadowUrl, schemas);
    const state: ShadowState = {
      environment: opts.environment,
      shadowEnv: opts.shadowEnv,
      publication: pub,
      subscription: sub,
      schemas,
      tables: published.tables,
      notCovered: published.notCovered,
      enabledAt: previous?.enabledAt ?? new Date().toISOString(),
      fingerprint: fp.production === fp.shadow ? fp.production : previous?.fingerprint ?? null,
      sequencesSyncedAt: new Date().toISOString(),
      originId,
    };
    await writeShadowState(ctx, state);

    // 5. PITR on the shadow (the part production cannot give).
    let pitr: EnableShadowResult['pitr'] = null;
    if (!opts.skipPitr) {
      const en = await enablePitr(ctx, opts.shadowEnv, env);
      const base = en.restartRequired ? null : await createBaseBackup(ctx, opts.shadowEnv, env);
      pitr = { method: en.method, baseBackup: base?.id ?? null, restartRequired: en.restartRequired };
      progress(`PITR on the shadow: ${en.method}${base ? `, base backup ${base.id}` : '; restart the shadow, then run prodguard pitr base-backup --env ' + opts.shadowEnv}`);
    }
    const result: EnableShadowResult = {
      environment: opts.environment,
      shadow: opts.shadowEnv,
      publication: pub,
      subscription: sub,
      tables: published.tables,
      notCovered: published.notCovered,
      schemaCopied,
      createdRoles,
      sequences: seq.length,
      pitr,
      productionPrivileges: ['REPLICATION attribute (replication connection, logical slot)', 'CREATE on the database (publication)', 'ownership of each published table', 'SELECT on pg_sequences (sequence sync)'],
    };
    await ctx.audit({ ...auditBase, verdict: 'ok', reason: `shadow ${opts.shadowEnv} subscribes to ${published.tables.length} table(s) of ${opts.environment}${published.notCovered.length ? `; not covered: ${published.notCovered.map((n) => n.table).join(', ')}` : ''}`, details: { publication: pub, subscription: sub, schemaCopied, createdRoles, pitr } });
    return result;
  } catch (err) {
    await ctx.audit({ ...auditBase, verdict: 'refused', reason: maskSecrets(errorMessage(err)) }).catch(() => {});
    throw err;
  }
}
