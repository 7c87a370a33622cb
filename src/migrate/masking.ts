/**
 * Applies config.staging.masking to the private copy of production during a staging refresh.
 * Runs in the caller's transaction with `session_replication_role = replica`: no user trigger
 * fires (an audit trigger would otherwise copy every original value into its table, a webhook
 * trigger would call out), and foreign-key checks are off so a masked key and every column
 * referencing it can be rewritten one after the other — with the same deterministic function,
 * so the references still match afterwards.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Context } from '../context.js';
import { quoteIdent, quoteLiteral } from '../pg/client.js';
import { RefusedError } from '../errors.js';
import { MATVIEWS_SQL, REFERENCING_COLUMNS_SQL, maskExpression, type MaskStrategy } from './sql/masking.js';

const SALT_KEY = 'staging.masking-salt';

/** The salt lives in the state store (the team store when `state.store: postgres`), so every refresh masks alike. */
export async function maskingSalt(ctx: Context): Promise<string> {
  const store = await ctx.store();
  let salt = await store.getMeta(SALT_KEY);
  if (!salt) {
    salt = randomBytes(16).toString('hex');
    await store.setMeta(SALT_KEY, salt);
  }
  return salt;
}

export interface MaskRule {
  table: string;
  column: string;
  strategy: MaskStrategy;
  reason?: string;
  /** jsonb only: mask just these paths (`$.name`, `$.**.email`); without it every string leaf. */
  paths?: string[];
}

/** `$.a.b` → matches the dotted path `$.a.b`; `**` matches any number of levels (array elements keep their parent's path). */
export function pathRegex(paths: string[]): string {
  const one = (p: string) => {
    if (!/^\$(\.(\*\*|[A-Za-z0-9_-]+|\*))*$/.test(p)) throw new RefusedError(`masking path ${p}: use $.key, $.*.key or $.**.key`, 'staging.masking-path');
    const parts = p.split('.').slice(1).map((x) => (x === '**' ? '(\\.[^.]+)*' : x === '*' ? '\\.[^.]+' : '\\.' + x));
    return '^\\$' + parts.join('') + '$';
  };
  return paths.map(one).join('|');
}

/** The expression that masks one column of type `typ`, element-wise for arrays, leaf-wise for jsonb. */
function columnExpression(r: MaskRule | (ColumnRef & { strategy: MaskStrategy; paths?: string[] }), col: string, typ: string): string {
  if (r.strategy === 'null') return 'NULL';
  // A tsvector's lexemes are words of the original text (a trigger built it; triggers are off here): emptied.
  if (typ === 'tsvector') return `''::tsvector`;
  if (typ === 'jsonb' || typ === 'json') {
    const re = r.paths?.length ? pathRegex(r.paths) : '.*';
    return `pg_temp.prodguard_mask_json(${col}::jsonb, '$', $1::text, ${quoteLiteral(r.strategy)}, ${quoteLiteral(re)})::${typ}`;
  }
  if (typ.endsWith('[]')) {
    return `ARRAY(SELECT (${maskExpression(r.strategy, 'u.e')})::${typ.slice(0, -2)} FROM unnest(${col}) WITH ORDINALITY AS u(e, n) ORDER BY u.n)::${typ}`;
  }
  if (typ === 'bytea') return `convert_to(${maskExpression(r.strategy, `encode(${col}, 'hex')`)}, 'UTF8')`;
  return `(${maskExpression(r.strategy, col)})::${typ}`;
}

/** A session-local helper (pg_temp: gone with the connection) masking the string leaves of a jsonb document whose path matches. */
async function createJsonMasker(c: pg.Client): Promise<void> {
  const leaf = (s: MaskStrategy) => maskExpression(s, 'leaf').replace(/\$1/g, 'salt');
  const strategies: MaskStrategy[] = ['email', 'name', 'phone', 'hash', 'text', 'scrub'];
  await c.query(`CREATE OR REPLACE FUNCTION pg_temp.prodguard_mask_leaf(leaf text, salt text, strategy text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT CASE strategy ${strategies.map((s) => `WHEN '${s}' THEN ${leaf(s)}`).join(' ')} ELSE leaf END $f$`);
  await c.query(`CREATE OR REPLACE FUNCTION pg_temp.prodguard_mask_json(j jsonb, path text, salt text, strategy text, re text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $f$
    DECLARE k text; v jsonb; out jsonb;
    BEGIN
      CASE jsonb_typeof(j)
        WHEN 'object' THEN
          out := '{}'::jsonb;
          FOR k, v IN SELECT * FROM jsonb_each(j) LOOP
            out := out || jsonb_build_object(k, pg_temp.prodguard_mask_json(v, path || '.' || k, salt, strategy, re));
          END LOOP;
          RETURN out;
        WHEN 'array' THEN
          RETURN COALESCE((SELECT jsonb_agg(pg_temp.prodguard_mask_json(e, path, salt, strategy, re) ORDER BY n) FROM jsonb_array_elements(j) WITH ORDINALITY AS a(e, n)), '[]'::jsonb);
        WHEN 'string' THEN
          IF path ~ re THEN RETURN to_jsonb(pg_temp.prodguard_mask_leaf(j #>> '{}', salt, strategy)); END IF;
          RETURN j;
        WHEN 'number' THEN
          IF path ~ re AND strategy <> 'scrub' THEN RETURN to_jsonb(pg_temp.prodguard_mask_leaf(j #>> '{}', salt, strategy)); END IF;
          -- scrub: a whole number of 7+ digits (a phone, card or identity number: 4155550101) becomes its placeholder; amounts and counts stay numbers.
          IF path ~ re AND strategy = 'scrub' AND (j #>> '{}') ~ '^[0-9]{7,}$' AND pg_temp.prodguard_mask_leaf(j #>> '{}', salt, strategy) <> j #>> '{}' THEN
            RETURN to_jsonb(pg_temp.prodguard_mask_leaf(j #>> '{}', salt, strategy));
          END IF;
          RETURN j;
        ELSE RETURN j;
      END CASE;
    END $f$`);
}

/**
 * A masking UPDATE that fails (a CHECK the masked value violates, a unique collision) would make
 * the server log the error with its DETAIL — `Failing row contains (…)`, `Key (email)=(…)` — i.e.
 * production's unmasked values in staging's server log (red team w5data). Each UPDATE runs inside
 * a PL/pgSQL exception block instead: an error caught there is never logged, and what is raised
 * again names the column, the SQLSTATE and the constraint only, never a value.
 */
async function createSafeRunner(c: pg.Client): Promise<void> {
  await c.query(`CREATE OR REPLACE FUNCTION pg_temp.prodguard_run_masking(q text, what text) RETURNS bigint LANGUAGE plpgsql AS $f$
    DECLARE n bigint; st text; cn text;
    BEGIN
      EXECUTE q;
      GET DIAGNOSTICS n = ROW_COUNT;
      RETURN n;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, cn = CONSTRAINT_NAME;
      RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = format('masking %s failed: SQLSTATE %s%s (row values withheld from the log and from this message)',
        what, st, CASE WHEN coalesce(cn, '') <> '' THEN format(', constraint %I', cn) ELSE '' END);
    END $f$`);
}

async function runWithoutRowValues(c: pg.Client, sqlText: string, what: string): Promise<number> {
  // The salt is read from the session's temp table once per statement (an InitPlan), never a parameter.
  const q = sqlText.replace(/\$1::text/g, `(SELECT s FROM pg_temp.${SALT_TABLE})`);
  const res = await c.query<{ n: string }>(`SELECT pg_temp.prodguard_run_masking($1, $2) AS n`, [q, what]);
  return Number(res.rows[0].n);
}

const SALT_TABLE = 'prodguard_masking_salt';

/**
 * The salt reaches the server as COPY data, which no log setting records: sent as a bind
 * parameter it appeared in staging's log under log_statement=all or log_min_duration_statement=0
 * (`parameters: $1 = '…'`), and with it every masked value could be re-identified by dictionary
 * (red team w5data). The temp table is dropped at the masking transaction's end.
 */
async function loadSalt(c: pg.Client, salt: string): Promise<void> {
  if (!/^[0-9A-Za-z]+$/.test(salt)) throw new RefusedError('the masking salt in the state store is damaged (expected hex)', 'staging.masking-salt');
  await c.query(`CREATE TEMP TABLE ${SALT_TABLE} (s text NOT NULL) ON COMMIT DROP`);
  const { from } = await import('pg-copy-streams');
  await new Promise<void>((resolve, reject) => {
    const stream = c.query(from(`COPY pg_temp.${SALT_TABLE} (s) FROM STDIN`));
    stream.on('error', reject);
    stream.on('finish', () => resolve());
    stream.end(`${salt}\n`);
  });
}

export interface ColumnRef {
  schema: string;
  table: string;
  column: string;
}

export const splitTable = (t: string): [string, string] => (t.includes('.') ? (t.split('.', 2) as [string, string]) : ['public', t]);
export const colKey = (c: ColumnRef) => `${c.schema}.${c.table}.${c.column}`;

/**
 * The rules plus, for every masked column, the columns that reference it by a foreign key (and
 * those referencing them), masked with the same strategy unless they have a rule of their own.
 */
export type ExpandedRule = ColumnRef & { strategy: MaskStrategy; paths?: string[]; via?: string };

export async function expandRules(c: pg.Client, rules: MaskRule[]): Promise<ExpandedRule[]> {
  const out: ExpandedRule[] = [];
  const seen = new Set<string>();
  for (const r of rules) {
    const [schema, table] = splitTable(r.table);
    const ref: ExpandedRule = { schema, table, column: r.column, strategy: r.strategy, ...(r.paths ? { paths: r.paths } : {}) };
    out.push(ref);
    seen.add(colKey(ref));
  }
  // Whole-value rules follow foreign keys (a path rule masks inside a document, which no key references).
  const queue = out.filter((r) => r.strategy !== 'keep' && !r.paths);
  while (queue.length) {
    const r = queue.shift()!;
    const refs = (await c.query<ColumnRef>(REFERENCING_COLUMNS_SQL, [r.schema, r.table, r.column])).rows;
    for (const ref of refs) {
      if (seen.has(colKey(ref))) continue;
      const e: ExpandedRule = { ...ref, strategy: r.strategy, via: colKey(r) };
      seen.add(colKey(ref));
      out.push(e);
      queue.push(e);
    }
  }
  return out;
}

/** Strategies whose value space is small enough for masks of distinct values to collide. */
const SPACE_LIMITED = new Set<MaskStrategy>(['phone', 'name', 'text']);
const UNIQUE_COLUMN_SQL = `SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
  WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indnatts = 1 AND a.attname = $2) AS unique`;

/**
 * Masks in the caller's transaction; a missing table or column throws (the caller fails closed).
 * Returns the rows changed and the tables they are in (which `scrubMaskedTables` then rewrites).
 */
export async function applyMasking(c: pg.Client, rules: MaskRule[], salt: string): Promise<{ rows: number; tables: string[] }> {
  if (!rules.length) throw new RefusedError('staging.masking is empty: a refresh would copy production as it is (add rules, or `strategy: keep` with a reason per column)', 'staging.no-masking');
  await c.query(`SET LOCAL session_replication_role = replica`);
  await createJsonMasker(c);
  await createSafeRunner(c);
  await loadSalt(c, salt);
  const all = await expandRules(c, rules);
  let rows = 0;
  const tables = new Set<string>();
  for (const r of all) {
    if (r.strategy === 'keep') continue;
    const t = `${quoteIdent(r.schema)}.${quoteIdent(r.table)}`;
    tables.add(t);
    const col = quoteIdent(r.column);
    if (r.strategy === 'null') {
      // A large object outlives its oid being nulled: unlink it (it holds the document itself).
      const typ = (await c.query(`SELECT format_type(atttypid, NULL) AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2`, [t, r.column])).rows[0]?.t;
      if (typ === 'oid' || typ === 'lo') {
        await c.query(`SELECT lo_unlink(o) FROM (SELECT DISTINCT ${col}::oid AS o FROM ${t} WHERE ${col} IS NOT NULL) s WHERE EXISTS (SELECT 1 FROM pg_largeobject_metadata m WHERE m.oid = s.o)`);
      }
    }
    const typ = (await c.query<{ t: string }>(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2 AND NOT attisdropped`, [t, r.column])).rows[0]?.t;
    if (!typ) throw new RefusedError(`masking rule ${r.schema}.${r.table}.${r.column}: no such column`, 'staging.masking-column');
    const expr = columnExpression(r, col, typ);
    const unique = SPACE_LIMITED.has(r.strategy) && (await c.query(UNIQUE_COLUMN_SQL, [t, r.column])).rows[0].unique;
    // A unique column keeps unique: values whose masks collide (7 phone digits, 8 hex of a name)
    // get the mask of "<original>#<n>" instead, n ordered by the original (stable across refreshes).
    const sqlText = unique
      ? `UPDATE ${t} SET ${col} = s.v FROM (
           SELECT id, CASE WHEN rn = 1 THEN m ELSE ${columnExpression(r, `(o::text || '#' || rn)`, typ)} END AS v
             FROM (SELECT ctid AS id, ${col} AS o, ${expr} AS m, row_number() OVER (PARTITION BY ${expr} ORDER BY ${col}) AS rn FROM ${t} WHERE ${col} IS NOT NULL) a
         ) s WHERE ${t}.ctid = s.id`
      : `UPDATE ${t} SET ${col} = ${expr} WHERE ${col} IS NOT NULL`;
    rows += await runWithoutRowValues(c, sqlText, `${r.schema}.${r.table}.${r.column}`);
  }
  // Materialized views were filled from the unmasked tables by the restore: rebuild them now.
  for (const v of (await c.query<{ schema: string; name: string }>(MATVIEWS_SQL)).rows) {
    await c.query(`REFRESH MATERIALIZED VIEW ${quoteIdent(v.schema)}.${quoteIdent(v.name)}`);
  }
  return { rows, tables: [...tables] };
}

/**
 * After the masking commits, before anyone can connect: masking is an UPDATE, so the original
 * values stay in the table files as dead row versions, and the planner statistics (pg_stats'
 * most_common_vals, histogram_bounds — readable by anyone who can read the table) were computed
 * from the original rows (red team ag-005/ag-006). VACUUM FULL rewrites each masked table without
 * the dead versions; ANALYZE then recomputes every statistic of the database from masked data.
 */
export async function scrubMaskedTables(c: pg.Client, tables: string[]): Promise<string[]> {
  const warnings: string[] = [];
  for (const t of tables) await c.query(`VACUUM (FULL) ${t}`);
  // lo_unlink (a `null` rule on an oid column) deletes the large object's rows, but its pages stay
  // in pg_largeobject's file as dead tuples — the document readable on disk (red team w5data).
  const lo = (await c.query<{ dead: boolean; may: boolean }>(
    `SELECT pg_relation_size('pg_catalog.pg_largeobject') > 0 AS dead,
            (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) OR pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = 'pg_catalog.pg_largeobject'::regclass), 'MEMBER') AS may`,
  )).rows[0];
  if (lo.dead) {
    if (lo.may) await c.query('VACUUM (FULL) pg_catalog.pg_largeobject');
    else warnings.push('pg_largeobject could not be rewritten (VACUUM FULL needs a superuser or its owner): the pages of unlinked large objects stay in its file until the server reuses them');
  }
  await c.query('ANALYZE');
  // Statistics computed before masking (autovacuum may ANALYZE the private copy while the restore
  // runs) leave dead pg_statistic rows holding original values in its file: rewrite it too.
  if (lo.may) await c.query('VACUUM (FULL) pg_catalog.pg_statistic');
  else warnings.push('pg_statistic could not be rewritten (VACUUM FULL needs a superuser or its owner): statistics computed before masking may remain in its file as dead rows');
  return warnings;
}
