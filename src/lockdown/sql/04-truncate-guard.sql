-- prodguard lockdown, part 4: BEFORE TRUNCATE triggers on every table of the locked schemas
-- (TRUNCATE fires no DELETE triggers and no event trigger), and an event trigger that adds the
-- same trigger to every table created later in those schemas.
CREATE OR REPLACE FUNCTION prodguard.guard_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF prodguard.session_token_kind() IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = '42501',
      MESSAGE = format('prodguard lockdown: TRUNCATE of %I.%I refused: this session carries no valid deploy or break-glass token', tg_table_schema, tg_table_name),
      HINT = 'Deleting every row of a production table needs an approved deploy or break-glass token (SET prodguard.token).';
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION prodguard.protect_table(p_table regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = p_table AND tgname = 'prodguard_no_truncate') THEN
    EXECUTE format('CREATE TRIGGER prodguard_no_truncate BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION prodguard.guard_truncate()', p_table);
  END IF;
END $$;
REVOKE ALL ON FUNCTION prodguard.protect_table(regclass) FROM PUBLIC;

CREATE OR REPLACE FUNCTION prodguard.protect_new_tables() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT objid FROM pg_event_trigger_ddl_commands()
           WHERE object_type = 'table' AND schema_name = ANY (string_to_array({{schemas_literal}}, ','))
  LOOP
    PERFORM prodguard.protect_table(r.objid::regclass);
  END LOOP;
END $$;

DROP EVENT TRIGGER IF EXISTS prodguard_protect_new_tables;
CREATE EVENT TRIGGER prodguard_protect_new_tables ON ddl_command_end
  WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO')
  EXECUTE FUNCTION prodguard.protect_new_tables();

SELECT prodguard.protect_table(c.oid::regclass)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname = ANY (string_to_array({{schemas_literal}}, ','));
