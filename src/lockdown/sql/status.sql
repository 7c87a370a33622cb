-- prodguard lockdown status: what is installed now, read from the catalog (not from anything
-- prodguard wrote down), so a dropped, disabled or edited piece shows.
SELECT
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
  (SELECT value FROM prodguard.lockdown_meta WHERE key = 'lockdown.version') AS version;
