-- prodguard lockdown, part 1: the prodguard schema and its token table.
-- Tokens are stored as SHA-256 hashes with an expiry; a session proves it may change the schema
-- by SET prodguard.token = '<token>' (a custom setting, visible only to that session).
CREATE SCHEMA IF NOT EXISTS prodguard;
REVOKE ALL ON SCHEMA prodguard FROM PUBLIC;
GRANT USAGE ON SCHEMA prodguard TO PUBLIC;

CREATE TABLE IF NOT EXISTS prodguard.lockdown_tokens (
  token_sha256 text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('deploy', 'break-glass')),
  person text NOT NULL,
  reason text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  expires_at timestamptz NOT NULL
);
REVOKE ALL ON prodguard.lockdown_tokens FROM PUBLIC;

CREATE TABLE IF NOT EXISTS prodguard.lockdown_meta (
  key text PRIMARY KEY,
  value text NOT NULL
);
REVOKE ALL ON prodguard.lockdown_meta FROM PUBLIC;
