-- prodguard lockdown, part 5: roles. The read-only role is for people, agents and the gateway;
-- the deployer role is for CI only (grant it to the login whose password only CI holds, and to
-- the role that owns your tables as needed). Both are NOLOGIN groups.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {{readonly_literal}}) THEN
    CREATE ROLE {{readonly_role}} NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {{deployer_literal}}) THEN
    CREATE ROLE {{deployer_role}} NOLOGIN;
  END IF;
END $$;
ALTER ROLE {{readonly_role}} SET default_transaction_read_only = on;
GRANT EXECUTE ON FUNCTION prodguard.issue_token(text, interval, text, text) TO {{deployer_role}};
{{per_schema_grants}}
