-- prodguard lockdown removal. Event triggers first: they do not fire for DROP EVENT TRIGGER.
DROP EVENT TRIGGER IF EXISTS prodguard_ddl_guard;
DROP EVENT TRIGGER IF EXISTS prodguard_protect_new_tables;
DROP EVENT TRIGGER IF EXISTS prodguard_drop_guard;
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT tgrelid::regclass AS rel FROM pg_trigger WHERE tgname = 'prodguard_no_truncate' LOOP
    EXECUTE format('DROP TRIGGER prodguard_no_truncate ON %s', r.rel);
  END LOOP;
END $$;
DROP FUNCTION IF EXISTS prodguard.guard_ddl();
DROP FUNCTION IF EXISTS prodguard.guard_drop_table();
DROP FUNCTION IF EXISTS prodguard.protect_new_tables();
DROP FUNCTION IF EXISTS prodguard.protect_table(regclass);
DROP FUNCTION IF EXISTS prodguard.guard_truncate();
DELETE FROM prodguard.lockdown_meta WHERE key LIKE 'lockdown.%';
