/**
 * Catalog queries of the normalised schema snapshot. Each returns (kind, key, def) rows for every
 * user schema except $1 (a text[] of excluded schemas: history tables, system schemas are always out).
 */
const USER_NS = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%' AND NOT (n.nspname = ANY($1::text[]))`;

export const CATALOG_QUERIES: string[] = [
  // schemas
  `SELECT 'schema' AS kind, n.nspname AS key, '' AS def FROM pg_namespace n WHERE ${USER_NS}`,
  // tables, views, materialized views, sequences (relkind + persistence)
  `SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' END AS kind,
          n.nspname || '.' || c.relname AS key,
          CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true)
               WHEN c.relkind = 'S' THEN (SELECT format('%s start %s increment %s min %s max %s cycle %s', format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcycle) FROM pg_sequence s WHERE s.seqrelid = c.oid)
               ELSE CASE c.relpersistence WHEN 'u' THEN 'unlogged' ELSE '' END || CASE WHEN c.relrowsecurity THEN ' rls' ELSE '' END END AS def
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND ${USER_NS}`,
  // columns: type, nullability, default, identity, generated
  `SELECT 'column' AS kind, n.nspname || '.' || c.relname || '.' || a.attname AS key,
          format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE ' null' END
          || COALESCE(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
          || CASE a.attidentity WHEN 'a' THEN ' identity always' WHEN 'd' THEN ' identity by default' ELSE '' END
          || CASE a.attgenerated WHEN 's' THEN ' generated stored' ELSE '' END
          || COALESCE(' collate ' || NULLIF(co.collname, 'default'), '') AS def
     FROM pg_attribute a
     JOIN pg_class c ON c.oid = a.attrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
    WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ${USER_NS}`,
  // constraints
  `SELECT 'constraint' AS kind, n.nspname || '.' || COALESCE(c.relname, t.typname) || '.' || con.conname AS key, pg_get_constraintdef(con.oid, true) AS def
     FROM pg_constraint con
     JOIN pg_namespace n ON n.oid = con.connamespace
     LEFT JOIN pg_class c ON c.oid = con.conrelid
     LEFT JOIN pg_type t ON t.oid = con.contypid
    WHERE ${USER_NS}`,
  // indexes
  `SELECT 'index' AS kind, n.nspname || '.' || ic.relname AS key, pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid THEN '' ELSE ' (INVALID)' END AS def
     FROM pg_index i
     JOIN pg_class ic ON ic.oid = i.indexrelid
     JOIN pg_namespace n ON n.oid = ic.relnamespace
    WHERE ${USER_NS}`,
  // functions and procedures (not those that belong to extensions)
  `SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END AS kind,
          n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS key,
          CASE WHEN p.prokind = 'a' THEN '' ELSE md5(pg_get_functiondef(p.oid)) END AS def
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE ${USER_NS} AND NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.objid = p.oid AND dep.deptype = 'e')`,
  // triggers (not the lockdown's TRUNCATE guard, src/lockdown: production only, checked by lockdown status)
  `SELECT 'trigger' AS kind, n.nspname || '.' || c.relname || '.' || tg.tgname AS key, pg_get_triggerdef(tg.oid, true) AS def
     FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT tg.tgisinternal AND ${USER_NS}
      AND NOT (tg.tgname = 'prodguard_no_truncate' AND tg.tgfoid IS NOT DISTINCT FROM to_regprocedure('prodguard.guard_truncate()'))`,
  // enum and domain types
  `SELECT CASE t.typtype WHEN 'e' THEN 'enum' ELSE 'domain' END AS kind, n.nspname || '.' || t.typname AS key,
          CASE WHEN t.typtype = 'e' THEN (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)
               ELSE format_type(t.typbasetype, t.typtypmod) || CASE WHEN t.typnotnull THEN ' not null' ELSE '' END END AS def
     FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE t.typtype IN ('e', 'd') AND ${USER_NS}`,
  // row-level security policies
  `SELECT 'policy' AS kind, p.schemaname || '.' || p.tablename || '.' || p.policyname AS key,
          concat_ws(' ', p.permissive, p.cmd, array_to_string(p.roles, ','), 'using', p.qual, 'check', p.with_check) AS def
     FROM pg_policies p JOIN pg_namespace n ON n.nspname = p.schemaname WHERE ${USER_NS}`,
  // extensions
  `SELECT 'extension' AS kind, e.extname AS key, n.nspname AS def FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql' AND ${USER_NS}`,
];
