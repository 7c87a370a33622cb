-- prodguard lockdown, part 3: an event trigger that refuses dropping or altering tables, schemas,
-- functions (and what hangs off them: views, sequences, indexes, types, triggers, policies)
-- unless the session carries a valid deploy or break-glass token. DROP TABLE is judged at sql_drop
-- time instead, where PostgreSQL says which dropped objects are temporary: sessions may still
-- create and drop their own temporary tables.
CREATE OR REPLACE FUNCTION prodguard.guard_ddl() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF prodguard.session_token_kind() IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = '42501',
      MESSAGE = format('prodguard lockdown: %s refused: this session carries no valid deploy or break-glass token', tg_tag),
      HINT = 'Schema changes reach production through an approved deploy (prodguard migrate deploy in CI) or break-glass, which SET prodguard.token for their session.';
  END IF;
END $$;

DROP EVENT TRIGGER IF EXISTS prodguard_ddl_guard;
CREATE EVENT TRIGGER prodguard_ddl_guard ON ddl_command_start
  WHEN TAG IN (
    'ALTER TABLE', 'DROP SCHEMA', 'ALTER SCHEMA', 'DROP FUNCTION', 'ALTER FUNCTION',
    'DROP PROCEDURE', 'ALTER PROCEDURE', 'DROP ROUTINE', 'ALTER ROUTINE', 'DROP VIEW', 'ALTER VIEW',
    'DROP MATERIALIZED VIEW', 'ALTER MATERIALIZED VIEW', 'DROP SEQUENCE', 'ALTER SEQUENCE', 'DROP INDEX',
    'ALTER INDEX', 'DROP TYPE', 'ALTER TYPE', 'DROP DOMAIN', 'ALTER DOMAIN', 'DROP TRIGGER', 'ALTER TRIGGER',
    'DROP POLICY', 'ALTER POLICY', 'DROP RULE', 'DROP EXTENSION', 'ALTER EXTENSION', 'DROP FOREIGN TABLE',
    'ALTER FOREIGN TABLE', 'DROP OWNED', 'DROP PUBLICATION', 'DROP SUBSCRIPTION')
  EXECUTE FUNCTION prodguard.guard_ddl();

CREATE OR REPLACE FUNCTION prodguard.guard_drop_table() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects() WHERE NOT is_temporary AND object_type = 'table')
     AND prodguard.session_token_kind() IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = '42501',
      MESSAGE = format('prodguard lockdown: %s refused: this session carries no valid deploy or break-glass token', tg_tag),
      HINT = 'Schema changes reach production through an approved deploy (prodguard migrate deploy in CI) or break-glass, which SET prodguard.token for their session.';
  END IF;
END $$;

DROP EVENT TRIGGER IF EXISTS prodguard_drop_guard;
CREATE EVENT TRIGGER prodguard_drop_guard ON sql_drop
  WHEN TAG IN ('DROP TABLE')
  EXECUTE FUNCTION prodguard.guard_drop_table();
