-- prodguard lockdown status: what is installed now, read from the catalog (not from anything
-- prodguard wrote down), so a dropped, disabled or edited piece shows. One statement, one round
-- trip: it runs whether or not lockdown is installed (present says whether it is).
-- $1 the protected schemas, $2 the roles lockdown creates, $3 every role it names (settings).
SELECT
  to_regclass('prodguard.lockdown_meta') IS NOT NULL AS present,
  (SELECT json_agg(json_build_object('name', evtname, 'enabled', evtenabled, 'function', evtfoid::regproc::text) ORDER BY evtname)
     FROM pg_event_trigger WHERE evtname LIKE 'prodguard%') AS event_triggers,
  (SELECT json_object_agg(p.proname, md5(pg_get_functiondef(p.oid)))
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'prodguard') AS functions,
  (SELECT json_agg(format('%I.%I', n.nspname, c.relname) ORDER BY 1)
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND n.nspname = ANY ($1::text[])
       AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'prodguard_no_truncate' AND t.tgenabled <> 'D')) AS unprotected_tables,
  (SELECT json_agg(rolname ORDER BY rolname) FROM pg_roles WHERE rolname = ANY ($2::text[])) AS roles,
  -- ALTER ROLE … SET (everywhere, and in this database): a role may change its own without a token.
  (SELECT json_object_agg(r.rolname, concat_ws(', ', array_to_string(r.rolconfig, ', '),
            (SELECT 'in this database: ' || array_to_string(d.setconfig, ', ') FROM pg_db_role_setting d
             WHERE d.setrole = r.oid AND d.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()))))
     FROM pg_roles r WHERE r.rolname = ANY ($3::text[])) AS role_settings;
